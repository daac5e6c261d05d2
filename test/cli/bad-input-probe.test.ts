import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-bad-probe-');

function scenarioFile(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const GOOD = `vm:
  vcpus: 2
  memslots:
    - { id: 0, baseGfn: 0, pages: 64 }
stop:
  timeNs: 100000
workload:
  gfnCount: 64
`;

/** Exit 2, one line matching `pattern`, no stack trace. */
function assertBad(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr.slice(0, 2000));
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr.slice(0, 2000)}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test("an integer past 2^53 is refused with the field's own bound (a probe: 'vm.vcpus: expected <= 9007199254740991' for vcpus 99999999999999999999, whose limit is 1024; seed 9007199254740993 likewise, whose limit is 2^31-1)", async () => {
  const cases: [string, string, RegExp][] = [
    ['vcpus.yaml', GOOD.replace('vcpus: 2', 'vcpus: 99999999999999999999'), /vcpus\.yaml:2:10 vm\.vcpus: expected <= 1024$/],
    ['vcpus-neg.yaml', GOOD.replace('vcpus: 2', 'vcpus: -99999999999999999999'), /vcpus-neg\.yaml:2:10 vm\.vcpus: expected >= 1$/],
    ['seed.yaml', `${GOOD}seed: 9007199254740993\n`, /seed\.yaml:9:7 seed: expected <= 2147483647$/],
    ['pages.yaml', GOOD.replace('pages: 64', 'pages: 1e30'), /pages\.yaml:4:35 vm\.memslots\[0\]\.pages: expected <= 4294967296$/],
  ];
  for (const [name, text, pattern] of cases) assertBad(await cli('run', scenarioFile(name, text)), pattern);
});

test('unknown keys by the thousand make one short line: the first few, then how many more (a probe: 20,000 unknown keys made a 189 KB line; a file not a scenario, such as /etc/shadow, was listed line by line)', async () => {
  const keys = Array.from({ length: 20000 }, (_, i) => `k${i}: 1`).join('\n');
  const r = await cli('run', scenarioFile('keys.yaml', `${GOOD}${keys}\n`));
  assertBad(r, /keys\.yaml:9:1 k0: unknown keys 'k0', 'k1', 'k2', 'k3', 'k4' and 19995 more$/);
  assert.ok(r.stderr.length < 300, `${r.stderr.length} characters`);
  // A key of its own too long is cut, as the field's name is.
  const long = 'x'.repeat(1000);
  const one = await cli('run', scenarioFile('long-key.yaml', `${GOOD}${long}: 1\n`));
  assertBad(one, /long-key\.yaml:9:1 \["x{40}\.\.\."\]: unknown key 'x{40}\.\.\.'$/);
  // Two keys: both listed, no "more".
  assertBad(await cli('run', scenarioFile('two.yaml', `${GOOD}a: 1\nb: 2\n`)), /two\.yaml:9:1 a: unknown keys 'a', 'b'$/);
});
