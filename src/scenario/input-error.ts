/**
 * Bad input from the user: reported as one line naming the file, the place and
 * what was expected, with exit code 2 and no stack trace.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}
