import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ownFileBeside } from '../../src/report/atomic-file.js';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-output-path-');

function assertRefused(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

test('an output file that cannot be written is refused before the work, on one line, exit 2', async () => {
  const missing = join(dir, 'no-such-folder', 'j.json');
  // A mutant check would find a violation and write it: refused first, nothing runs.
  assertRefused(
    await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', missing),
    /^mmulab: --out .*no-such-folder\/j\.json: folder .*no-such-folder does not exist$/,
  );
  assertRefused(await cli('run', 'fault-during-invalidation', '--json', dir), /^mmulab: --json .*: is a folder; expected a file$/);
  const plain = join(dir, 'plain.txt');
  writeFileSync(plain, '');
  assertRefused(
    await cli('check', 'fault-vs-invalidation-mini', '--report', join(plain, 'r.html')),
    /^mmulab: --report .*plain\.txt\/r\.html: .*plain\.txt is not a folder$/,
  );
  assertRefused(await cli('merge', plain, '--json', missing), /^mmulab: --json .*: folder .* does not exist$/);
  // No probe file is left behind by the checks that passed.
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.probe')),
    [],
  );
});

test('a writable output is made, and the check leaves no probe file beside it', async () => {
  const out = join(dir, 'ok.json');
  const r = await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'pct', '--max-executions', '10', '--json', out);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.')),
    [],
  );
});

test('check: the default cex.json, when the current folder refuses it, goes to the temporary folder with a warning, not lost', {
  skip: !existsSync('/proc/self'),
}, async () => {
  const cwd = process.cwd();
  const json = join(dir, 'fallback.json');
  process.chdir('/proc');
  let r: { code: number; stderr: string };
  try {
    r = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--json', json);
  } finally {
    process.chdir(cwd);
  }
  assert.equal(r.code, 1, r.stderr);
  const m = /cannot write cex\.json \((\w+)\); written to (\S+) instead/.exec(r.stderr);
  assert.ok(m, r.stderr);
  const written = m[2]!;
  try {
    assert.equal(JSON.parse(readFileSync(json, 'utf8')).counterexample, written);
    const replayed = await cli('replay', written);
    assert.equal(replayed.code, 1, replayed.stderr);
  } finally {
    rmSync(written, { force: true });
  }
});

test('--json onto a read-only file is refused before the work, naming it, the file left as it was; a file replaced keeps its mode (a probe: a 0444 file was replaced, silently, by one of 0644)', async () => {
  const ro = join(dir, 'ro.json');
  writeFileSync(ro, 'old\n');
  chmodSync(ro, 0o444);
  assertRefused(
    await cli('run', 'fault-vs-invalidation-mini', '--json', ro),
    /^mmulab: --json .*ro\.json: not writable \(mode 0444\): expected a file it may replace, or none$/,
  );
  assert.equal(readFileSync(ro, 'utf8'), 'old\n');
  // Through a symbolic link, its target is what is looked at.
  const link = join(dir, 'ro-link.json');
  symlinkSync(ro, link);
  assertRefused(await cli('run', 'fault-vs-invalidation-mini', '--json', link), /^mmulab: --json .*ro-link\.json: not writable \(mode 0444\)/);
  const priv = join(dir, 'private.json');
  writeFileSync(priv, 'old\n');
  chmodSync(priv, 0o600);
  assert.equal((await cli('run', 'fault-vs-invalidation-mini', '--json', priv)).code, 0);
  assert.notEqual(readFileSync(priv, 'utf8'), 'old\n');
  assert.equal(statSync(priv).mode & 0o777, 0o600);
  // No temporary file nor probe left; their names hold the host's name, so that two machines writing into one shared folder never share one.
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.probe')),
    [],
  );
  assert.match(ownFileBeside(priv, 'tmp'), new RegExp(`/\\.private\\.json\\.${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.${process.pid}\\.tmp$`));
});
