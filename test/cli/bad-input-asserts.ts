import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Exit 2, one line of stderr matching `pattern`, no stack trace: how bad input is to be refused. */
export function assertBad(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr.slice(0, 2000));
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr.slice(0, 2000)}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** Writes `text` as file `name` in `dir`; returns its path. */
export function fileIn(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** A scenario small and valid, for tests to break one field of. */
export const GOOD_SCENARIO = `vm:
  vcpus: 2
  memslots:
    - { id: 0, baseGfn: 0, pages: 64 }
stop:
  timeNs: 100000
workload:
  gfnCount: 64
`;
