/**
 * How a refusal of input words what was expected, the same for a scenario
 * (load.ts) and a part file of `mmulab merge` (sweep/merge-input.ts): zod's
 * type names with their article ('an integer', 'a string'), bounds with
 * their comparison, and 'missing' for a required key that is absent.
 */

/** zod's type names as a message says them. */
const TYPE_WORDS: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  array: 'an array',
  object: 'an object',
};

/** A zod type name (`issue.expected`) in words: 'an integer' for int. */
export function typeWords(expected: string): string {
  return TYPE_WORDS[expected] ?? expected;
}

/**
 * A size or value bound as a message says it: a string's length in characters,
 * an array's in items ('at least 1 item'), a number's with its comparison,
 * exclusive ones too ('> 0', for hotFraction and zipfS).
 */
export function bound(origin: string, words: string, op: string, limit: number | bigint): string {
  const n = Number(limit);
  const exact = op === '>=' || op === '<=' ? n : op === '>' ? n + 1 : n - 1;
  if (origin === 'string') return `${words} ${exact} character${exact === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return `${words} ${exact} item${exact === 1 ? '' : 's'}`;
  return `${op} ${String(limit)}`;
}

/** True when the key `path` names is absent from `data`: a required key not given, not a value of the wrong type. */
export function isMissing(data: unknown, path: readonly PropertyKey[]): boolean {
  let at: unknown = data;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return false;
    if (!Object.hasOwn(at, key)) return true;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at === undefined;
}
