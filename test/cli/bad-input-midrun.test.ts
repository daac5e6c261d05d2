import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-midrun-');

/** A scenario that validates but, shadow-paged, has too few guest page-table pages for the gfns its vCPUs touch: found only as it runs. */
const scenario = join(dir, 'ptfail.yaml');
writeFileSync(
  scenario,
  `vm:
  vcpus: 2
  apicAccessPage: false
  memslots:
    - { id: 0, baseGfn: 0, pages: 1048576 }
workload:
  pattern: uniform
  gfnStart: 0
  gfnCount: 1048576
  accesses: 50
  pageTableGfns: 8
stop:
  timeNs: 1000000
`,
);

/** One line naming the file, line and column of the field, exit 2: as run says it. */
function badInput(r: { code: number; stderr: string }, what: string): void {
  assert.equal(r.code, 2, `${what}: ${r.stderr}`);
  assert.match(
    r.stderr,
    /^mmulab: \S*ptfail\.yaml:11:18 workload\.pageTableGfns: vCPU\d's guest page tables, \d+ pages, ran out at gfn 0x[0-9a-f]+: expected more page-table pages/,
    what,
  );
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line`);
  assert.doesNotMatch(r.stderr, /model bug|\bat \w+ \(/, what);
}

test('bad input an execution runs into (too few guest page-table pages) is bad input in run, check, audit and replay: exit 2, located in the file (a probe: check said "model bug", exit 3, and replay printed a stack)', async () => {
  badInput(await cli('run', scenario, '--set', 'mmu=shadow'), 'run');
  badInput(await cli('check', scenario, '--set', 'mmu=shadow', '--max-executions', '3', '--json', join(dir, 'c.json')), 'check');
  badInput(await cli('check', scenario, '--set', 'mmu=shadow', '--strategy', 'pct', '--max-executions', '3', '--workers', '2'), 'check --workers 2');
  badInput(await cli('audit', scenario, '--set', 'mmu=shadow', '--executions', '2', '--profile-executions', '2'), 'audit');
  // The schedule a check of the build before printed for it, as a "model bug" (its
  // choices and draws; 53 steps since a shadow fault walks the guest's tables in a
  // step of its own, 50 before).
  badInput(await cli('replay', scenario, '--set', 'mmu=shadow', '--max-steps', '10100', '--schedule', 'AQMAAQEBADMKgbsYAK-xNQGl3BQAlsgqAPKiBQA'), 'replay');
});
