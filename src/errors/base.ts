// One error base class for the whole package. Each subclass sets a literal `name`, and its message
// tells the user what was wrong and how to fix it.

export interface VerinferErrorOptions {
  cause?: unknown;
  details?: string;
  metaMessages?: string[];
  /** The page of the docs (relative to the docs folder) that explains this failure. */
  docsPath?: string;
}

export class VerinferError extends Error {
  override name: string = 'VerinferError';
  readonly shortMessage: string;
  readonly details?: string;
  readonly metaMessages?: string[];
  readonly docsPath?: string;

  constructor(shortMessage: string, options: VerinferErrorOptions = {}) {
    const parts = [shortMessage];
    if (options.metaMessages?.length) parts.push('', ...options.metaMessages);
    if (options.docsPath) parts.push('', `Docs: docs/${options.docsPath}`);
    if (options.details) parts.push('', `Details: ${options.details}`);
    super(parts.join('\n'), options.cause === undefined ? undefined : { cause: options.cause });
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.metaMessages = options.metaMessages;
    this.docsPath = options.docsPath;
  }
}

/** A model file or model object that breaks the format's rules. */
export class ModelFormatError extends VerinferError {
  override name: string = 'ModelFormatError';
}

/** An input that does not fit the model (shape, type, range or syntax). */
export class InputError extends VerinferError {
  override name: string = 'InputError';
}

/** An ONNX graph that uses something the importer does not support. */
export class UnsupportedOpError extends VerinferError {
  override name: string = 'UnsupportedOpError';
}

/** A malformed or unreadable ONNX file. */
export class OnnxFormatError extends VerinferError {
  override name: string = 'OnnxFormatError';
}

/** The quantized model's outputs drift from the float model's by more than allowed (`--strict`). */
export class AccuracyDriftError extends VerinferError {
  override name: string = 'AccuracyDriftError';
}

/** Values that no quantization can represent: non-finite or float32-overflowing outputs or errors. */
export class UnboundedValueError extends VerinferError {
  override name: string = 'UnboundedValueError';
}
