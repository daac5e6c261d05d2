import { InputError } from './input-error.js';

/**
 * Why a file system call on an input file failed, in words, the same in every
 * command's refusal ("no such file", "is a directory", else the error code).
 */
export function errnoWords(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code;
}

/** The refusal of an input file that could not be read: `x.json: cannot read part file (is a directory)`. */
export function cannotRead(file: string, what: string, e: unknown): InputError {
  return new InputError(`${file}: cannot read ${what} file (${errnoWords(e)})`);
}
