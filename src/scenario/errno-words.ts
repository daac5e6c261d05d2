/**
 * Why a file system call on an input file failed, in words, the same in every
 * command's refusal ("no such file", "is a directory", else the error code).
 */
export function errnoWords(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code;
}
