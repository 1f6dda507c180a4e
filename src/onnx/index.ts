// Public API of the ONNX importer.
export { CALIBRATION_METHODS, type CalibrationMethod } from './calibrate.ts';
export { DEFAULT_MAX_PROBABILITY_ERROR, type DriftCheck } from './drift.ts';
export { type ImportOptions, type ImportReport, type ImportResult, importOnnx } from './import.ts';
export { dequantize, type FloatTensor, parseFloatInput, quantizeInput } from './input.ts';
export type { LayerError } from './layerError.ts';
export { DEFAULT_WEIGHT_BITS } from './quantize/params.ts';
export type { Agreement } from './report.ts';
export { ELEMENTWISE_ONLY_OPS, FOLDED_OPS, LOWERED_OPS } from './supported.ts';
