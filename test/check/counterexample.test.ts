import assert from 'node:assert/strict';
import { test } from 'node:test';
import { check } from '../../src/check/check.js';
import { buildCounterexample, CEX_FORMAT, formatInterleaving, parseCounterexample, replayCounterexample } from '../../src/check/counterexample.js';
import { runLimits } from '../../src/check/explore.js';
import { decodeSchedule, encodeSchedule } from '../../src/check/schedule-codec.js';
import { abba, counter, seqProtocol } from './toys.js';

const origin = { scenario: 'seq-toy', settings: { vcpus: 2 }, mutant: 'skip-seq-check' };

test('check (pct seed 21) returns a minimised counterexample in the mmulab-cex/3 format', () => {
  const factory = seqProtocol(2, 2, 1, 'skip-seq-check');
  const r = check(factory, { strategy: { kind: 'pct', depth: 3 }, seed: 21, origin });
  const cex = r.counterexample!;
  assert.equal(cex.format, CEX_FORMAT);
  assert.equal(cex.scenario, 'seq-toy');
  assert.deepEqual(cex.settings, { vcpus: 2 });
  assert.equal(cex.mutant, 'skip-seq-check');
  assert.equal(cex.seed, 21);
  assert.equal(cex.strategy, 'pct');
  assert.equal(cex.property, 'stale-translation');
  assert.equal(cex.violation.kind, 'stale-translation');
  assert.ok(r.minimisation !== null);
  assert.equal(cex.schedule.choices.length, r.minimisation.size.steps);
  assert.ok(r.minimisation.size.steps <= r.minimisation.original.steps);
  // Steps come from the model's log, in kernel terms.
  assert.ok(cex.steps.some((s) => s.text === 'vCPU0: snapshot mmu_invalidate_seq=0' || s.text === 'vCPU1: snapshot mmu_invalidate_seq=0'));
  assert.ok(cex.steps.every((s) => typeof s.step === 'number' && /^(reclaim|vCPU\d)$/.test(s.thread)));
  // It survives JSON and replays to the same property.
  const back = parseCounterexample(JSON.parse(JSON.stringify(cex)));
  const again = replayCounterexample(factory, back);
  assert.equal(again.same, true);
  assert.deepEqual(again.replayed, cex);
});

test('the printed interleaving is numbered and ends with the violation', () => {
  const factory = seqProtocol(1, 1, 1, 'skip-seq-check');
  const r = check(factory, { strategy: { kind: 'dfs' }, seed: 1, origin });
  const text = formatInterleaving(r.counterexample!);
  const lines = text.split('\n');
  assert.match(lines[0], /^ ?1\. vCPU0: snapshot mmu_invalidate_seq=0$/);
  assert.match(lines.at(-1)!, /^=> stale-translation \(vCPU0\): access through spte -> pfn 0x10, host maps 0x11$/);
});

test('without a log, steps are the announced ops', () => {
  const factory = abba();
  const found = check(factory, { strategy: { kind: 'random' }, seed: 2, origin: { scenario: 'abba', settings: {}, mutant: null } });
  const cex = found.counterexample!;
  assert.equal(cex.property, 'deadlock');
  assert.ok(cex.steps.length === cex.schedule.choices.length);
  assert.ok(
    cex.steps.some((s) => /^T[01]: write [AB]$/.test(s.text)),
    cex.steps.map((s) => s.text).join('\n'),
  );
});

test('a counterexample is rebuilt identically from its pasteable schedule string', () => {
  const factory = counter(3, 1);
  const r = check(factory, { strategy: { kind: 'random' }, seed: 9, origin: { scenario: 'counter', settings: {}, mutant: null } });
  const cex = r.counterexample!;
  const s = decodeSchedule(encodeSchedule(cex.schedule));
  const rebuilt = buildCounterexample(factory, cex, s, runLimits({}));
  assert.deepEqual(rebuilt, cex);
});

test('parseCounterexample names the first bad field', () => {
  const factory = counter(2, 1);
  const cex = check(factory, { strategy: { kind: 'dfs' }, seed: 1, origin: { scenario: 'c', settings: {}, mutant: null } }).counterexample!;
  const bad = (patch: Record<string, unknown>) => JSON.parse(JSON.stringify({ ...cex, ...patch }));
  assert.throws(() => parseCounterexample(bad({ format: 'other' })), /'format'/);
  // The field down to the element, its value and what was expected (it said "bad or missing field 'schedule'").
  assert.throws(
    () => parseCounterexample(bad({ schedule: { choices: [-1], draws: [] } })),
    /^TypeError: schedule\.choices\[0\]: -1, expected a whole number >= 0$/,
  );
  assert.throws(() => parseCounterexample(bad({ limits: null })), /^TypeError: limits: null, expected an object with /);
  assert.throws(() => parseCounterexample(bad({ mutant: 3 })), /^TypeError: mutant: 3, expected null or /);
  assert.throws(() => parseCounterexample(bad({ limits: { ...cex.limits, maxSteps: 0 } })), /^TypeError: limits\.maxSteps: 0, expected a whole number >= 1$/);
});

test('check reports no counterexample for a correct model, and the summary figures', () => {
  const r = check(seqProtocol(1, 1, 1), { strategy: { kind: 'dfs' }, seed: 1, origin });
  assert.equal(r.counterexample, null);
  assert.equal(r.minimisation, null);
  assert.equal(r.summary.exhausted, true);
  assert.equal(r.summary.stoppedBy, 'exhausted');
  assert.ok(r.summary.executions > 0 && r.summary.maxDepth > 0 && r.summary.wallMs >= 0);
  assert.equal(r.summary.firstCounterexampleMs, null);
});

test("the 'auto' strategy finds a shallow bug with PCT first, and exhausts a correct model with DFS", () => {
  const bug = check(seqProtocol(3, 3, 2, 'skip-seq-check'), { strategy: { kind: 'auto' }, seed: 4, origin });
  assert.equal(bug.counterexample?.strategy, 'pct');
  const ok = check(seqProtocol(1, 1, 1), { strategy: { kind: 'auto', pctExecutions: 100 }, seed: 4, origin });
  assert.equal(ok.summary.exhausted, true);
  assert.equal(ok.summary.strategy, 'dfs');
});
