export { writeFileAtomic } from '../report/atomic-file.js';

/** Stable JSON for results: two-space indent, trailing newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
