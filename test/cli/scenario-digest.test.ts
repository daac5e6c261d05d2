import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-digest-');

/** `run --json` of `target` (a built-in's name or a file): the result's scenario name and digest. */
async function runOf(target: string, out: string): Promise<{ scenario: string; scenarioDigest: string }> {
  const r = await cli('run', target, '--json', join(dir, out));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(join(dir, out), 'utf8'));
}

test('run --json records the scenario digest: a copy of a built-in runs as it, an edited copy of the same file name does not (a probe: nothing told them apart)', async () => {
  const text = readFileSync('scenarios/fault-vs-invalidation-mini.yaml', 'utf8');
  const copy = join(dir, 'fault-vs-invalidation-mini.yaml');
  writeFileSync(copy, `# a copy\n${text}`);
  // Of the built-in's file name, in another folder.
  mkdirSync(join(dir, 'edit'));
  const edited = join(dir, 'edit', 'fault-vs-invalidation-mini.yaml');
  assert.match(text, /vcpus: 2\b/);
  writeFileSync(edited, text.replace(/vcpus: 2\b/, 'vcpus: 1'));

  const builtin = await runOf('fault-vs-invalidation-mini', 'b.json');
  const same = await runOf(copy, 'c.json');
  const other = await runOf(edited, 'e.json');
  assert.match(builtin.scenarioDigest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(same.scenarioDigest, builtin.scenarioDigest, 'a comment does not count');
  // Named as loaded: the built-in by its name, a file by its path as given (as check's results and counterexamples name it).
  assert.deepEqual([builtin.scenario, same.scenario, other.scenario], ['fault-vs-invalidation-mini', copy, edited]);
  assert.notEqual(other.scenarioDigest, builtin.scenarioDigest);
  // The size knob resizes what ran: --set vcpus=1 on the built-in is the edited file's run.
  const r = await cli('run', 'fault-vs-invalidation-mini', '--set', 'vcpus=1', '--json', join(dir, 's.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')).scenarioDigest, other.scenarioDigest);
});
