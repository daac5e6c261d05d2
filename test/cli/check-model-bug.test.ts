import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CheckResult } from '../../src/check/check.js';
import { runLimits } from '../../src/check/explore.js';
import { decodeSchedule } from '../../src/check/schedule-codec.js';
import { mergeChecks } from '../../src/cli/check-json.js';
import { modelBugJson, modelBugText } from '../../src/cli/model-bug-replay.js';
import { runJob } from '../../src/cli/offload.js';
import { ModelBug } from '../../src/runtime/model-bug.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Thread } from '../../src/runtime/thread.js';
import { parseMergePart } from '../../src/sweep/merge-input.js';
import { cli } from './in-process-cli.js';

/**
 * A model bug on demand in the KVM model, in this thread only (check's
 * workers load their own copy of the runtime, so the exploration runs here,
 * through runJob): the runtime throws in the step where thread 0 takes over
 * from another thread for the second time, as a model whose invariant breaks
 * in some interleavings only does. The model's sources are left as they are.
 */
const INJECTED = 'injected: thread 0 took over from another thread twice';
const runStep = Runtime.prototype.runStep;
before(() => {
  const seen = new WeakMap<Runtime, { last: number; takeovers: number }>();
  Runtime.prototype.runStep = function (this: Runtime, t: Thread): void {
    const s = seen.get(this) ?? { last: -1, takeovers: 0 };
    seen.set(this, s);
    if (t.id === 0 && s.last !== -1 && s.last !== 0 && ++s.takeovers === 2) throw new ModelBug(INJECTED);
    s.last = t.id;
    runStep.call(this, t);
  };
});
after(() => {
  Runtime.prototype.runStep = runStep;
});

const ref = 'fault-vs-invalidation-mini';
const sets = ['vcpus=1'];
const world = { scenario: ref, settings: { vcpus: 1 }, mutant: null, limits: runLimits({}) };

function checked(strategy: { kind: 'pct' } | { kind: 'dfs'; preemptionBound?: number }): CheckResult {
  const options = { strategy, seed: 1, origin: { scenario: ref, settings: { vcpus: 1 }, mutant: null } };
  return runJob({ kind: 'check', ref, sets, mutant: null, options }, () => false) as CheckResult;
}

for (const strategy of [{ kind: 'pct' as const }, { kind: 'dfs' as const, preemptionBound: 2 }, { kind: 'dfs' as const }]) {
  test(`model bug (${strategy.kind}${'preemptionBound' in strategy ? ` bound ${strategy.preemptionBound}` : ''}, seed 1): check prints the replay line, and replay of it throws again: exit 3, the same message (before: no schedule, nothing to replay)`, async () => {
    const r = checked(strategy);
    assert.equal(r.summary.stoppedBy, 'model-bug');
    assert.ok(r.modelBug !== null);
    const bug = modelBugJson(r.modelBug, world);
    assert.equal(bug.message, `ModelBug: ${INJECTED}`);
    assert.deepEqual(decodeSchedule(bug.schedule), r.modelBug.schedule);
    assert.equal(bug.replay, `mmulab replay ${ref} --set vcpus=1 --schedule ${bug.schedule}`);
    const text = modelBugText(bug, r.modelBug.schedule.choices.length).split('\n');
    assert.equal(text[0], `mmulab: model bug (not a protocol violation): ModelBug: ${INJECTED}`);
    assert.match(text[1]!, /^mmulab: reproduce it \(\d+ steps, as found: not minimised\) with:$/);
    assert.equal(text[2], `  ${bug.replay}`);
    const replayed = await cli(...bug.replay!.split(' ').slice(1));
    assert.equal(replayed.code, 3, replayed.stderr);
    assert.equal(replayed.stderr.split('\n')[0], text[0], 'the replay says what check said');
  });
}

test('model bug: the replay line carries the limits, the mutant and a scenario file (no counterexample file carries them), quoted as a shell needs', () => {
  const report = { message: 'TypeError: x', stack: null, schedule: { choices: [0, 1, 0], draws: [2] } };
  const bug = modelBugJson(report, {
    scenario: 'my scenarios/a.yaml',
    settings: { vcpus: 2, note: 'a b' },
    mutant: 'fault-skip-range-check',
    limits: runLimits({ maxSteps: 20_000, retries: 'interleaved' }),
  });
  assert.equal(
    bug.replay,
    `mmulab replay 'my scenarios/a.yaml' --set vcpus=2 --set 'note=a b' --mutate fault-skip-range-check --max-steps 20000 --retries interleaved --schedule ${bug.schedule}`,
  );
  assert.deepEqual(decodeSchedule(bug.schedule), report.schedule);
  // Limits a command line does not set: the schedule alone, said so.
  const odd = modelBugJson(report, { ...world, limits: { ...runLimits({}), fairSpin: false } });
  assert.equal(odd.replay, null);
  assert.match(modelBugText(odd, 3), /not ones a command line sets; its schedule \(3 steps, as found: not minimised\): \S+\n$/);
});

test('model bug: merged --shard parts keep the replay of the part that stopped on it', () => {
  const r = checked({ kind: 'pct' });
  assert.ok(r.modelBug !== null);
  const bug = modelBugJson(r.modelBug, world);
  const part = (index: number, stopped: boolean) => ({
    name: `p${index}.json`,
    json: {
      format: 'mmulab-check/1' as const,
      scenario: ref,
      scenarioDigest: 'd',
      settings: { vcpus: 1 },
      mutant: null,
      seed: 1,
      summary: { ...r.summary, stoppedBy: stopped ? ('model-bug' as const) : ('elsewhere' as const) },
      violation: null,
      counterexample: null,
      minimisation: null,
      partial: false,
      shard: { index, count: 2 },
      exploration: { strategy: { kind: 'pct' as const }, maxExecutions: null, maxSteps: null },
      parts: [
        {
          summary: { ...r.summary, stoppedBy: stopped ? ('model-bug' as const) : ('elsewhere' as const) },
          part: {
            shard: { index, count: 2 },
            lastUnit: index,
            stopUnit: stopped ? index : null,
            entries: [[index, 1, 1, 0, 0] as [number, number, number, number, number]],
          },
        },
      ],
      ...(stopped ? { modelBug: bug } : {}),
    },
  });
  const merged = mergeChecks([part(0, false), part(1, true)]);
  assert.equal(merged.json.summary.stoppedBy, 'model-bug');
  assert.deepEqual(merged.json.modelBug, bug);
  // As merge reads part files: the field survives the parse.
  const read = parseMergePart('p1.json', JSON.stringify(part(1, true).json));
  assert.deepEqual((read.json as { modelBug?: unknown }).modelBug, bug);
});
