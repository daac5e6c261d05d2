import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { PctStrategy } from '../../src/check/pct.js';
import { RandomStrategy } from '../../src/check/random.js';
import type { Strategy } from '../../src/check/strategy.js';
import { abba, busyAndHost, counter, precheck, seqProtocol, waitFlag } from './toys.js';

const all = (): Strategy[] => [new DfsStrategy(), new DfsStrategy({ por: 'none' }), new RandomStrategy(8), new PctStrategy(8, 3)];

test('deadlock: AB-BA names what each thread waits for (dfs, random seed 8, pct seed 8)', () => {
  for (const s of all()) {
    const r = explore(abba(), s, { maxExecutions: 10_000 });
    assert.equal(r.violation?.kind, 'deadlock', s.name);
    assert.match(r.violation!.message, /T0 waits for B \(write\)/);
    assert.match(r.violation!.message, /T1 waits for A \(write\)/);
  }
});

test('deadlock: a lost wake-up leaves the consumer asleep on its wait queue', () => {
  const r = explore(waitFlag(true), new DfsStrategy());
  assert.equal(r.violation?.kind, 'deadlock');
  assert.match(r.violation!.message, /consumer waits for flag_wq/);
  assert.equal(explore(waitFlag(false), new DfsStrategy()).violation, null);
});

test('livelock: a retry loop on a value read once is caught by the no-progress rule, in a short schedule', () => {
  for (const s of all()) {
    const r = explore(precheck(true), s, { maxExecutions: 10_000 });
    assert.equal(r.violation?.kind, 'livelock', s.name);
    assert.match(r.violation!.message, /vCPU0 retries with nothing new to see/);
    assert.match(r.violation!.message, /host is done/);
    assert.match(r.violation!.message, /still awaited: vCPU0 fault completion/);
    assert.ok(r.schedule!.choices.length < 20, `${r.schedule!.choices.length} steps`);
  }
});

test('livelock: with fairSpin off, the same bug runs into maxSteps while awaited work is pending', () => {
  const r = explore(precheck(true), new DfsStrategy(), { fairSpin: false, maxSteps: 200 });
  assert.equal(r.violation?.kind, 'livelock');
  assert.match(r.violation!.message, /200 steps run, still awaited: vCPU0 fault completion/);
  assert.equal(r.schedule!.choices.length, 200);
});

test('no false livelock at maxSteps when the schedule starved a thread that could run (DFS running one thread on, PCT): cut, counted as truncated', () => {
  for (const s of [new DfsStrategy(), new DfsStrategy({ por: 'none' }), new PctStrategy(8, 3), new RandomStrategy(8)]) {
    const r = explore(busyAndHost(1000), s, { maxSteps: 200, maxExecutions: 50 });
    assert.equal(r.violation, null, `${s.name}: ${r.violation?.message}`);
    assert.ok(r.summary.truncated > 0, s.name);
  }
  // The first execution of DFS runs the busy thread on, the host starved: without
  // the fairness test at the cut it was reported as a livelock awaiting the host.
  const first = explore(busyAndHost(1000), new DfsStrategy(), { maxSteps: 200, maxExecutions: 1 });
  assert.equal(first.summary.truncated, 1);
});

test('livelock: with the coarse any-write rule too', () => {
  const r = explore(precheck(true), new DfsStrategy(), { spinProgress: 'any-write' });
  assert.equal(r.violation?.kind, 'livelock');
});

test('no false livelock: the correct pre-check exhausts, under both progress rules and without the fair-spin rules', () => {
  for (const spinProgress of ['footprint', 'any-write'] as const) {
    const r = explore(precheck(false), new DfsStrategy(), { spinProgress });
    assert.equal(r.violation, null, r.violation?.message);
    assert.equal(r.summary.exhausted, true);
  }
  // Without the rules the retry loop may run as long as the scheduler lets it: cut, not reported.
  const r = explore(precheck(false), new RandomStrategy(4), { fairSpin: false, maxExecutions: 2000 });
  assert.equal(r.violation, null);
});

test('no false livelock when the model changes state under an op that does not announce it (probation)', () => {
  for (const s of all()) {
    const r = explore(precheck(false, true), s, { maxExecutions: 5000 });
    assert.equal(r.violation, null, `${s.name}: ${r.violation?.message}`);
  }
});

test('retry loops of the seq protocol terminate under dfs: two vCPUs keep retrying only while the host writes', () => {
  const r = explore(seqProtocol(2, 1, 1), new DfsStrategy(), { timeLimitMs: 60_000 });
  assert.equal(r.summary.exhausted, true);
  assert.equal(r.summary.truncated, 0);
  assert.ok(r.summary.maxDepth < 200, `depth ${r.summary.maxDepth}`);
});

test('truncation with nothing pending is not a violation, and is counted', () => {
  const r = explore(counter(2, 3, true), new RandomStrategy(1), { maxSteps: 10, maxExecutions: 50 });
  assert.equal(r.violation, null);
  assert.equal(r.summary.truncated, 50);
});
