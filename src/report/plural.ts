/** "1 step", "2 steps": a count and its noun, with an English plural s. */
export function plural(n: number | bigint, noun: string): string {
  return `${String(n)} ${noun}${Number(n) === 1 ? '' : 's'}`;
}
