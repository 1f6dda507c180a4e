// Reads a user-named file with a size limit, so that a huge file, /dev/zero or a never-ending pipe
// fails with a named error instead of growing memory without bound. Regular files are refused
// by their size before a byte is read; other files (pipes, devices) are read up to the limit.
import { open, stat } from 'node:fs/promises';
import { InputError } from '../errors/base.ts';

export const MiB = 1 << 20;

export interface ReadBoundedParameters {
  /** Most bytes the caller accepts. */
  maxBytes: number;
  /** What the file is, for messages: 'Input file', 'Tokenizer file', ... */
  what: string;
}

/** Why a file system call failed, in words, from its errno code. */
export function describeFsError(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory (ENOTDIR)';
    case 'ENOSPC':
      return 'the disk is full (ENOSPC)';
    case 'ELOOP':
      return 'too many symbolic links (ELOOP)';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return code ? `the system said ${code}` : String((cause as Error | undefined)?.message ?? cause);
  }
}

/** 'Input file' -> 'input file', but 'ONNX model' stays. */
function inSentence(what: string): string {
  return /^[A-Z][a-z]/.test(what) ? what[0].toLowerCase() + what.slice(1) : what;
}

function sizeText(bytes: number): string {
  return bytes >= MiB ? `${Math.floor(bytes / MiB)} MiB` : `${bytes} bytes`;
}

export async function readBounded(path: string, { maxBytes, what }: ReadBoundedParameters): Promise<Buffer> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new InputError(`Cannot read ${inSentence(what)} "${path}": ${describeFsError(cause)}.`, {
      cause,
    });
  }
  if (info.isDirectory()) throw new InputError(`${what} "${path}" is a directory, not a file.`);
  const tooLarge = () =>
    new InputError(
      `${what} "${path}" is larger than the limit of ${sizeText(maxBytes)}. Pass a smaller file.`,
    );
  if (info.isFile() && info.size > maxBytes) throw tooLarge();
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new InputError(`Cannot read ${inSentence(what)} "${path}": ${describeFsError(cause)}.`, {
      cause,
    });
  }
  try {
    // One byte more than the limit tells "exactly at the limit" from "beyond it"; a regular file
    // may also have grown since stat.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(maxBytes + 1 - total, 4 * MiB);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(chunk, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge();
    }
    return Buffer.concat(chunks, total);
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw new InputError(`Cannot read ${inSentence(what)} "${path}": ${describeFsError(cause)}.`, {
      cause,
    });
  } finally {
    await handle.close();
  }
}
