/** Unknown keys a message lists before it says how many more there are. */
export const KEYS_LISTED = 5;

/** A key as a message writes it: cut to a few dozen characters. */
export const cutKey = (k: string) => (k.length > 40 ? `${k.slice(0, 40)}...` : k);

/** A key as an unknown-key message quotes it. */
const quotedKey = (k: string) => `'${cutKey(k)}'`;

/**
 * Unknown keys in words, the same for a scenario and a counterexample:
 * "unknown key 'vcpuz'", "unknown keys 'a', 'b' and 3 more" (a file of
 * thousands of stray keys is still one short line); with what is expected
 * there, the key most likely meant first: "unknown key 'memslotflush' (did you
 * mean 'memslotFlush'?), expected one of mmu, faultPrecheck, ...".
 */
export function unknownKeysWords(keys: readonly string[], expected?: { keys: readonly string[]; meant?: string | undefined }): string {
  const listed = keys.slice(0, KEYS_LISTED).map(quotedKey).join(', ');
  const more = keys.length - KEYS_LISTED;
  const words = `unknown key${keys.length > 1 ? 's' : ''} ${listed}${more > 0 ? ` and ${more} more` : ''}`;
  if (expected === undefined) return words;
  const meant = expected.meant === undefined ? '' : ` (did you mean ${quotedKey(expected.meant)}?)`;
  return `${words}${meant}, expected one of ${expected.keys.join(', ')}`;
}

/** A path segment as written in messages: `[3]`, `name`, or `["odd key"]` (a long one cut: `["xxx..."]`). */
export function segment(p: PropertyKey): string {
  if (typeof p === 'number') return `[${p}]`;
  const s = String(p);
  return s.length <= 40 && /^[A-Za-z_$][\w$-]*$/.test(s) ? s : `[${JSON.stringify(cutKey(s))}]`;
}
