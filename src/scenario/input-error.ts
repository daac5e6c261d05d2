/**
 * Bad input from the user: reported as one line naming the file, the place and
 * what was expected, with exit code 2 and no stack trace.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/**
 * Bad input found once the model is built or run (not by the schema, which
 * locates it, nor of a command-line option, which names itself), named by the
 * scenario it is in.
 */
export function inScenario(ref: string, e: unknown): unknown {
  if (!(e instanceof InputError) || e.message.startsWith(ref) || e.message.startsWith('--')) return e;
  return new InputError(`${ref}: ${e.message}`);
}
