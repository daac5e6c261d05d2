import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Branch } from '../../src/check/branch.js';
import { GuessedBranches, MAX_GUESSES } from '../../src/cli/branch-guesses.js';
import type { BranchReply, BranchTask } from '../../src/cli/branch-workers.js';

/** A worker that answers when told to: the tasks asked, and how to answer the oldest. */
function fakeWorker() {
  const asked: { task: BranchTask; answer: (r: BranchReply) => void }[] = [];
  const ask = (task: BranchTask) => new Promise<BranchReply>((answer) => asked.push({ task, answer }));
  return { asked, ask };
}

const reply = (startedAt: number): BranchReply => ({ kind: 'branch', startedAt, outcome: { prefix: [] } as never });
const tick = () => new Promise((r) => setImmediate(r));

test('guessed branches: a guess that round 1 asks for (same prefix, tried and spun) stands for it, once; the others are called off, and no guess is asked once round 1 is known', async () => {
  const flags = new Int32Array(new SharedArrayBuffer(4 * (2 + MAX_GUESSES)));
  const g1: Branch = { prefix: [1], tried: [1], spun: [0] };
  const g2: Branch = { prefix: [2], tried: [3], spun: [2] };
  const g3: Branch = { prefix: [3], tried: [7], spun: [6] };
  const guesses = new GuessedBranches([g1, g2, g3], flags);
  const w = fakeWorker();
  const exploring = guesses.explore(w.ask, 5);
  await tick();
  assert.equal(w.asked.length, 1);
  assert.deepEqual(w.asked[0]!.task, { kind: 'branch', branch: g1, depth: 5, cancel: w.asked[0]!.task.cancel });
  // Not taken before round 1 is known.
  assert.equal(guesses.take(g1), undefined);
  w.asked[0]!.answer(reply(10));
  await tick();
  assert.equal(w.asked.length, 2);
  // Round 1 asks for g1 as guessed, and for [2] with other tried masks: g2 is called off.
  const asked = new Map<string, Branch>([
    ['1', { prefix: [1], tried: [1], spun: [0] }],
    ['2', { prefix: [2], tried: [1], spun: [0] }],
  ]);
  guesses.roundOneKnown((key) => asked.get(key));
  const [c1, c2] = w.asked.map((a) => a.task.cancel!);
  assert.equal(Atomics.load(flags, c2), 1, 'g2 called off');
  assert.equal(Atomics.load(flags, c1), 0, 'g1 stands');
  assert.notEqual(guesses.take(asked.get('1')!), undefined);
  assert.equal(guesses.take(asked.get('1')!), undefined, 'taken once');
  assert.equal(guesses.take(asked.get('2')!), undefined);
  w.asked[1]!.answer(reply(20));
  await exploring;
  assert.equal(w.asked.length, 2, 'g3 not asked: round 1 is known');
  assert.equal(guesses.firstStart, 10);
});
