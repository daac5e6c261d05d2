import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Sink } from '../../src/kvm/events.js';
import { ModelBug } from '../../src/runtime/model-bug.js';
import { InputError } from '../../src/scenario/input-error.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { checkScenarioLimits, unboundedReason } from '../../src/scenario/limits.js';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { cli } from '../cli/in-process-cli.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('mmulab-limits-');

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const SLOT = 'memslots: [{ id: 0, baseGfn: 0, pages: 64 }]';

function assertRefused(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('limits: 10^9 vCPUs and 2^60 pages are refused by the schema, located', async () => {
  assertRefused(
    await cli('run', file('cpus.yaml', `vm: { vcpus: 1000000000, ${SLOT} }\nstop: { timeNs: 1000 }\n`)),
    /cpus\.yaml:1:14 vm\.vcpus: expected <= 1024/,
  );
  assertRefused(
    await cli('run', file('pages.yaml', `vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: ${2 ** 60} }] }\nstop: { timeNs: 1000 }\n`)),
    /pages\.yaml:1:\d+ vm\.memslots\[0\]\.pages: expected <= \d+/,
  );
});

test('limits: memslot pages beyond the total limit are refused', async () => {
  // Side by side (memslots may not overlap), 2^31 pages each.
  const slots = Array.from({ length: 3 }, (_, i) => `{ id: ${i}, baseGfn: ${i * 2 ** 31}, pages: ${2 ** 31} }`).join(', ');
  assertRefused(
    await cli('run', file('total.yaml', `vm: { vcpus: 1, apicAccessPage: false, memslots: [${slots}] }\nworkload: { gfnCount: 16 }\nstop: { timeNs: 1000 }\n`)),
    /total\.yaml:1:50 vm\.memslots: 6442450944 pages in all, more than the limit/,
  );
});

test('limits: a stop condition that never comes is refused', async () => {
  assertRefused(
    await cli('run', file('forever.yaml', `vm: { vcpus: 2, ${SLOT} }\nworkload: { gfnCount: 64 }\n`)),
    /forever\.yaml: stop: no stop\.timeNs, no stop\.accesses, and 2 vCPUs with workload\.accesses 0 \(no limit\): the run would never end/,
  );
  assertRefused(
    await cli(
      'run',
      file(
        'host.yaml',
        `vm: { vcpus: 1, ${SLOT} }\nworkload: { accesses: 5, gfnCount: 64 }\nhost: { invalidations: [{ kind: numa, gfnCount: 64, rangePages: 8 }] }\n`,
      ),
    ),
    /host\.invalidations\[0\] with count 0/,
  );
  // Finite workloads and a finite host end on their own.
  const s = parseScenario(
    `vm: { vcpus: 1, ${SLOT} }\nworkload: { accesses: 5, gfnCount: 64 }\nhost: { invalidations: [{ gfnCount: 64, rangePages: 8, count: 2 }] }\n`,
    'f.yaml',
  );
  assert.equal(unboundedReason(s), null);
  const r = await cli(
    'run',
    file(
      'finite.yaml',
      `vm: { vcpus: 1, ${SLOT} }\nworkload: { accesses: 5, gfnCount: 64 }\nhost: { invalidations: [{ gfnCount: 64, rangePages: 8, count: 2 }] }\n`,
    ),
  );
  assert.equal(r.code, 0, r.stderr);
});

test('limits: a memory estimate beyond the machine is refused with the figures', async () => {
  const s = parseScenario(
    `vm: { vcpus: 1024, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: ${2 ** 32} }] }\nworkload: { gfnCount: ${2 ** 32} }\nstop: { timeNs: 1000000 }\n`,
    'big.yaml',
  );
  assert.throws(
    () => checkScenarioLimits(s, 'big.yaml', 2 ** 30),
    (e: unknown) => e instanceof InputError && /^big\.yaml: too big: needs about [\d.]+ GiB of memory \(1024 vCPUs/.test(e.message),
  );
  assertRefused(
    await cli(
      'run',
      file(
        'big.yaml',
        `vm: { vcpus: 1024, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: ${2 ** 32} }] }\nworkload: { gfnCount: ${2 ** 32} }\nstop: { timeNs: 1000000 }\n`,
      ),
    ),
    /big\.yaml: too big: needs about/,
  );
});

/**
 * fault-during-invalidation 20 times as long (about 40 s): the built-in runs
 * about 2 s, which a fast moment of the machine can finish before a 1 s limit
 * or a signal 1.5 s in.
 */
function longRun(): string {
  const builtin = readFileSync('scenarios/fault-during-invalidation.yaml', 'utf8');
  assert.match(builtin, /timeNs: 20000000\n/);
  return file('long-run.yaml', builtin.replace(/timeNs: 20000000\n/, 'timeNs: 400000000\n'));
}

test('limits: --time-limit stops a long run with what was measured, partial', async () => {
  const out = join(dir, 'tl.json');
  const t0 = Date.now();
  // The limit counts from the command's start, and the run's worker thread loads the
  // model under tsx first: on a loaded machine that took over 1 s, and a limit of 1 s
  // then stopped the run before its first step (steps 0).
  const r = await cli('run', longRun(), '--set', 'faultPrecheck=off', '--time-limit', '3', '--json', out);
  assert.ok(Date.now() - t0 < 20000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped at --time-limit 3 s/);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.partial, true);
  assert.ok(j.steps > 0);
  assertRefused(await cli('run', 'fault-during-invalidation', '--time-limit', '-3'), /--time-limit -3: expected seconds/);
});

/** Signal numbers (Linux) of the signals sent here. */
const SIGNO = { SIGINT: 2n, SIGTERM: 15n } as const;

/** Whether a process has a handler for `signal` installed (Linux /proc; elsewhere: assume so). */
function handlesSignal(pid: number, signal: keyof typeof SIGNO): boolean {
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null || (BigInt(`0x${m[1]}`) & (1n << (SIGNO[signal] - 1n))) !== 0n;
  } catch {
    return true;
  }
}

/** Spawns a long run, sends `signal` (SIGINT) after `afterMs` (`times` times, 20 ms apart), and returns exit code and output. */
function interruptAfter(args: string[], afterMs: number, signal: keyof typeof SIGNO = 'SIGINT', times = 1): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    // Signal only once the CLI has installed its SIGINT handler (startup under tsx
    // can take longer than afterMs on a loaded machine), then afterMs more.
    const kills: NodeJS.Timeout[] = [];
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (!handlesSignal(child.pid!, signal) && Date.now() - t0 < 30000) return;
      clearInterval(poll);
      for (let i = 0; i < times; i++) kills.push(setTimeout(() => child.kill(signal), afterMs + 20 * i));
    }, 50);
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('exit', (code) => {
      clearInterval(poll);
      for (const k of kills) clearTimeout(k);
      clearTimeout(watchdog);
      resolve({ code, stderr });
    });
  });
}

/**
 * A SIGINT that lands while tsx is still loading the CLI (before main() installs its
 * handler) kills the child by the signal (code null): a slow start, not the behaviour
 * under test, so it is retried with a longer delay. So is a second signal that came
 * too late to be a second one: under load the test's two timers 20 ms apart once fired
 * after the child had already stopped on the first (exit 130, nothing on stderr).
 */
async function interruptRetrying(
  args: string[],
  afterMs: number,
  signal: keyof typeof SIGNO = 'SIGINT',
  times = 1,
): Promise<{ code: number | null; stderr: string }> {
  let r = await interruptAfter(args, afterMs, signal, times);
  for (const ms of [afterMs * 3, afterMs * 6]) {
    if (r.code !== null && (times === 1 || /stopped again/.test(r.stderr))) break;
    r = await interruptAfter(args, ms, signal, times);
  }
  return r;
}

test('interrupt: SIGINT during run writes the JSON so far, partial, exit 130', async () => {
  const out = join(dir, 'int-run.json');
  const r = await interruptRetrying(['run', longRun(), '--set', 'faultPrecheck=off', '--json', out], 1500);
  assert.equal(r.code, 130, r.stderr);
  assert.ok(existsSync(out), 'JSON written');
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.partial, true);
  assert.equal(j.format, 'mmulab-run/1');
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('interrupt: SIGINT during compare writes the JSON so far, partial, exit 130', async () => {
  const out = join(dir, 'int-cmp.json');
  const r = await interruptRetrying(['compare', 'fault-during-invalidation', '--vary', 'faultPrecheck=off,lockless', '--seeds', '5', '--json', out], 2000);
  assert.equal(r.code, 130, r.stderr);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.partial, true);
  assert.equal(j.format, 'mmulab-compare/1');
});

test('interrupt: SIGINT during check writes the summary so far, partial, exit 130', async () => {
  const out = join(dir, 'int-check.json');
  const r = await interruptRetrying(
    ['check', 'fault-vs-invalidation-mini', '--set', 'vcpus=3', '--strategy', 'dfs', '--json', out, '--out', join(dir, 'int-cex.json')],
    2500,
  );
  assert.equal(r.code, 130, r.stderr);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.partial, true);
  assert.equal(j.format, 'mmulab-check/1');
  assert.equal(j.summary.stoppedBy, 'interrupted');
});

test("interrupt: SIGTERM (a batch system's time limit) during check --shard stops it as SIGINT does: the summary so far, partial, exit 130 (a probe: killed, nothing written)", async () => {
  const out = join(dir, 'term-check.json');
  const r = await interruptRetrying(
    [
      'check',
      'fault-vs-invalidation-mini',
      '--set',
      'vcpus=3',
      '--strategy',
      'dfs',
      '--preemption-bound',
      '3',
      '--shard',
      '0/2',
      '--json',
      out,
      '--out',
      join(dir, 'term-cex.json'),
    ],
    2500,
    'SIGTERM',
  );
  assert.equal(r.code, 130, r.stderr);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.partial, true);
  assert.equal(j.summary.stoppedBy, 'interrupted');
});

test('interrupt: SIGINT during check --iterative-bound --workers 2 (a level on the workers) writes the levels so far, partial, exit 130', async () => {
  const out = join(dir, 'int-levels.json');
  const size = ['--set', 'vcpus=3', '--set', 'invalidations=3', '--set', 'faultsPerVcpu=2'];
  const r = await interruptRetrying(
    ['check', 'fault-vs-invalidation-mini', ...size, '--iterative-bound', '--workers', '2', '--json', out, '--out', join(dir, 'int-levels-cex.json')],
    3000,
  );
  assert.equal(r.code, 130, r.stderr);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.partial, true);
  assert.equal(j.summary.stoppedBy, 'interrupted');
  assert.equal(j.summary.exhausted, false);
  const levels = j.summary.preemptionBounds as { preemptionBound: number | null; executions: number }[];
  assert.equal(
    j.summary.executions,
    levels.reduce((a, l) => a + l.executions, 0),
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

/** A sweep of 12 cells interrupted after 3 s: what its JSON holds. */
async function interruptedSweep(workers: string): Promise<{ partial: boolean; rows: { results: unknown[] }[] }> {
  const out = join(dir, `int-sweep${workers}.json`);
  const r = await interruptRetrying(
    ['sweep', 'fault-during-invalidation', '--vary', 'faultPrecheck=off,lockless', '--seeds', '6', '--workers', workers, '--json', out],
    3000,
  );
  assert.equal(r.code, 130, r.stderr);
  return JSON.parse(readFileSync(out, 'utf8'));
}

test('interrupt: a second SIGINT exits at once and says so, and the output not yet written is not written (a probe: it exited in silence)', async () => {
  const out = join(dir, 'twice-sweep.json');
  // --workers 0: the main thread sees both signals once the cell in hand is done, one right after the other.
  // Retried as the others are: under load the signals once landed before main()
  // installed its handler (under tsx, /proc shows SIGINT caught from the start, so the
  // wait for the handler does not see it), and the child died by them (code null).
  // And retried when the cell in hand ended between the two signals (20 ms apart): the
  // first then stopped the sweep and its output was written before the second came
  // (2 of 3 CI runs on 2026-12-07 met that), which is no second SIGINT mid-run.
  const args = ['sweep', 'fault-during-invalidation', '--vary', 'faultPrecheck=off,lockless', '--seeds', '6', '--workers', '0', '--json', out];
  let r = await interruptRetrying(args, 1500, 'SIGINT', 2);
  for (const ms of [900, 2100]) {
    if (!existsSync(out)) break;
    rmSync(out);
    r = await interruptRetrying(args, ms, 'SIGINT', 2);
  }
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /^mmulab: stopped again: exiting now; outputs not yet written are not written \(files from before are kept\)$/m);
  assert.equal(existsSync(out), false);
});

test('interrupt: SIGINT during sweep writes the finished cells, partial, exit 130', async () => {
  assert.equal((await interruptedSweep('2')).partial, true);
});

test('interrupt: SIGINT during sweep --workers 0 (the main thread) stops between cells, partial, exit 130', async () => {
  // Before: the cells ran on without ever seeing the signal, and the result was whole.
  const j = await interruptedSweep('0');
  assert.equal(j.partial, true);
  assert.ok(j.rows.flatMap((row) => row.results).length < 12);
});

test('model bug: simulate reports a ModelBug apart from violations', () => {
  const s = parseScenario(`vm: { vcpus: 2, ${SLOT} }\nworkload: { gfnCount: 64 }\nstop: { timeNs: 100000 }\n`, 'f.yaml');
  let n = 0;
  const sink: Sink = {
    on() {
      if (++n === 50) throw new ModelBug('injected: sptes and rmap disagree');
    },
  };
  const r = simulate({ ...s, name: 'bug' }, { settings: effectiveSettings(s), mutant: null, seed: 1, sinks: [sink] });
  assert.equal(r.modelBug, 'injected: sptes and rmap disagree');
  assert.deepEqual(r.violations, []);
});

test('a reader that goes away early (mmulab … | head -1): no stack trace, the command finishes and writes its files', async () => {
  const json = join(dir, 'closed-pipe.json');
  const args = [
    'check',
    'fault-vs-invalidation-mini',
    '--set',
    'vcpus=1',
    '--set',
    'invalidations=1',
    '--set',
    'faultsPerVcpu=1',
    '--strategy',
    'dfs',
    '--iterative-bound',
    '--json',
    json,
  ];
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Read the first chunk, then close the pipe, as head does.
    child.stdout.once('data', () => child.stdout.destroy());
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('exit', (code) => {
      clearTimeout(watchdog);
      resolve({ code, stderr });
    });
  });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
  assert.equal(JSON.parse(readFileSync(json, 'utf8')).summary.exhausted, true);
});
