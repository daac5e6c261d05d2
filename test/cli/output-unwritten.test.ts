import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';
import { cli, load } from './in-process-cli.js';

/**
 * check, replay, audit and merge with an output the system refuses once the
 * work is done (its folder removed during the work; /dev/full, a full disk,
 * which the checks before the work let through, as they must a device): the
 * results are printed, the other outputs written, each output not written said
 * on one line of its own after the results, exit 2 (seed 1, the check's default).
 */

const dir = tempDir('mmulab-output-unwritten-');
const MINI = 'fault-vs-invalidation-mini';
const MUTANT = ['--mutate', 'fault-skip-range-check'];
const SIZE = ['--set', 'vcpus=2', '--set', 'invalidations=1', '--set', 'faultsPerVcpu=1'];

/** A new folder under `dir`, and the line that says an output in it was not written once it was removed. */
function folder(name: string): { path: string; gone: (option: string, file: string) => string } {
  const path = join(dir, name);
  mkdirSync(path);
  return { path, gone: (option, file) => `mmulab: ${option} ${join(path, file)}: not written: its folder ${path} no longer exists (ENOENT)` };
}

/** The line that says an output to /dev/full was not written. */
const full = (option: string) => `mmulab: ${option} /dev/full: not written: no space left on device (ENOSPC)`;

/** stderr's lines. */
const lines = (stderr: string) => stderr.trim().split('\n');

test('check with --json and --report in a folder removed during the search: the counterexample is written first and printed with its replay, the trace written, the two others said one line each, exit 2', async () => {
  const gone = folder('check-gone');
  const [cex, trace] = [join(dir, 'check-cex.json'), join(dir, 'check-trace.json')];
  const r = await captured(
    ['check', MINI, ...MUTANT, '--out', cex, '--json', join(gone.path, 'a.json'), '--report', join(gone.path, 'r.html'), '--trace', trace],
    () => rmdirSync(gone.path),
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /stale-translation/);
  assert.match(r.stdout, new RegExp(`counterexample written to ${cex}; replay it with:\n {2}mmulab replay ${cex}\n`));
  assert.deepEqual(lines(r.stderr), [gone.gone('--json', 'a.json'), gone.gone('--report', 'r.html')]);
  assert.equal(JSON.parse(readFileSync(cex, 'utf8')).property, 'stale-translation');
  assert.ok(existsSync(trace), 'the trace, in a folder still there, is written');
});

test('check with --out in a folder removed during the search: the interleaving is printed with the replay line that needs no file, --json records no counterexample file, the --out line said, exit 2', async () => {
  const gone = folder('check-out-gone');
  const [json, ftrace] = [join(dir, 'out-gone.json'), join(dir, 'out-gone.ftrace')];
  const r = await captured(['check', MINI, ...MUTANT, '--out', join(gone.path, 'c.json'), '--json', json, '--ftrace', ftrace], () => rmdirSync(gone.path));
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stdout, /written to/);
  const m =
    /\ncounterexample not written; replay it with:\n {2}(mmulab replay fault-vs-invalidation-mini --mutate fault-skip-range-check --schedule (\S+))\n$/.exec(
      r.stdout,
    );
  assert.ok(m, r.stdout);
  assert.deepEqual(lines(r.stderr), [gone.gone('--out', 'c.json')]);
  const j = load(json) as { counterexample: unknown; violation: { kind: string } };
  assert.equal(j.counterexample, null);
  assert.equal(j.violation.kind, 'stale-translation');
  assert.ok(existsSync(ftrace));
  // The line offered replays the violation.
  const replay = await captured(['replay', MINI, ...MUTANT, '--schedule', m[2]!]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.match(replay.stdout, /stale-translation/);
});

test('replay with --json and --ftrace on a full disk: the interleaving is printed, --trace and --report written, one line each for the two others, exit 2', async () => {
  const cex = join(dir, 'replay-cex.json');
  const found = await captured(['check', MINI, ...MUTANT, '--out', cex]);
  assert.equal(found.code, 1, found.stderr);
  const [trace, report] = [join(dir, 'replay-trace.json'), join(dir, 'replay.html')];
  const r = await captured(['replay', cex, '--json', '/dev/full', '--trace', trace, '--ftrace', '/dev/full', '--report', report]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /stale-translation/);
  assert.deepEqual(lines(r.stderr), [full('--json'), full('--ftrace')]);
  assert.ok(existsSync(trace) && existsSync(report));
});

test('audit with --json in a folder removed during the audit: the audit is printed, the --json line said, exit 2', async () => {
  const gone = folder('audit-gone');
  const r = await captured(['audit', MINI, ...SIZE, '--executions', '30', '--profile-executions', '3000', '--json', join(gone.path, 'a.json')], () =>
    rmdirSync(gone.path),
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /^footprints: sound/);
  assert.deepEqual(lines(r.stderr), [gone.gone('--json', 'a.json')]);
});

test('merge of check parts that found a violation, --json on a full disk: the merged result is printed with its counterexample, the --json line said, exit 2', async () => {
  const parts: string[] = [];
  for (const shard of ['0/2', '1/2']) {
    const part = join(dir, `part-${shard[0]}.json`);
    const r = await captured([
      'check',
      MINI,
      ...MUTANT,
      '--preemption-bound',
      '1',
      '--shard',
      shard,
      '--json',
      part,
      '--out',
      join(dir, `part-${shard[0]}-cex.json`),
    ]);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    parts.push(part);
  }
  const r = await captured(['merge', ...parts, '--json', '/dev/full']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /stale-translation: .*\n/);
  assert.match(r.stdout, /counterexample: .*part-\d-cex\.json; replay it with:/);
  assert.deepEqual(lines(r.stderr), [full('--json')]);
});

test('merge of sweep parts, --json on a full disk: the table is printed, the --json line said, exit 2', async () => {
  const parts: string[] = [];
  for (const shard of ['0/2', '1/2']) {
    const part = join(dir, `sweep-${shard[0]}.json`);
    const r = await captured(['sweep', MINI, '--vary', 'faultPrecheck=off,lockless', '--workers', '0', '--shard', shard, '--json', part]);
    assert.equal(r.code, 0, r.stderr);
    parts.push(part);
  }
  const r = await captured(['merge', ...parts, '--json', '/dev/full']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /faultPrecheck/);
  assert.deepEqual(lines(r.stderr), [full('--json')]);
});

test('an output whose old file the system will not let go (immutable, chattr +i) is not written: the old file stays, and no temporary file is left beside it (a probe: .x.json.PID.tmp stayed)', async (t) => {
  const file = join(dir, 'immutable.json');
  writeFileSync(file, '{}\n');
  if (spawnSync('chattr', ['+i', file]).status !== 0) {
    t.skip('chattr +i is not available here (not root, or a file system without it)');
    return;
  }
  try {
    // Immutable before the run: refused up front, as a read-only file is.
    const before = await cli('run', MINI, '--json', file);
    assert.equal(before.code, 2, before.stderr);
    assert.match(before.stderr, /^mmulab: --json .*immutable\.json: not writable \(EPERM\): expected a file it may replace, or none\n$/);
    spawnSync('chattr', ['-i', file]);
    // Made immutable once the run has started: not written at the end. A run of
    // some 0.5 s, so that the file is made immutable well before the run writes it
    // (the mini's run, a few ms in a worker kept from an earlier test, could end
    // before this thread's timer fired on a loaded machine: CI of 2026-12-08).
    const r = await captured(['run', 'fault-during-invalidation', '--json', file], () => spawnSync('chattr', ['+i', file]));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--json .*immutable\.json: not written: operation not permitted \(EPERM\)/);
    assert.equal(readFileSync(file, 'utf8'), '{}\n');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.immutable.json')),
      [],
    );
  } finally {
    spawnSync('chattr', ['-i', file]);
  }
});
