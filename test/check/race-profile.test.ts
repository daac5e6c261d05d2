import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditConflicts } from '../../src/check/audit.js';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { profileRaces } from '../../src/check/race-profile.js';
import { counter, perThreadSlots, seqProtocol } from './toys.js';

test('conflict audit: steps announced as conflicting that commute are tallied as always commuting', () => {
  const tallies = auditConflicts(perThreadSlots(3), { executions: 30 });
  assert.equal(tallies.length, 1);
  const t = tallies[0]!;
  assert.equal(t.first, 'T#: write slots');
  assert.equal(t.second, 'T#: write slots');
  assert.ok(t.tries > 0);
  assert.equal(t.commuted, t.tries);
});

test('conflict audit: a real race (a lost update) does not commute when swapped', () => {
  const tallies = auditConflicts(counter(2, 2), { executions: 40 });
  const rw = tallies.filter((t) => t.first.includes('counter') && t.second.includes('counter'));
  assert.ok(rw.length > 0);
  assert.ok(
    rw.some((t) => t.commuted < t.tries),
    rw.map((t) => `${t.first} -> ${t.second}: ${t.commuted}/${t.tries}`).join('; '),
  );
});

test('race profile: the DFS it runs is dfs as check runs it (the observer changes nothing), and its kinds add up to every backtrack point', () => {
  // (seq 2x1x1, which this used, takes about 50 s twice since spins' yields are dependencies.)
  for (const f of [counter(2, 2, true), seqProtocol(1, 1, 2)]) {
    const p = profileRaces(f, {});
    assert.equal(p.violation, null);
    const plain = explore(f, new DfsStrategy({}));
    assert.equal(p.executions, plain.summary.executions);
    assert.equal(p.exhausted, true);
    assert.ok(p.backtracks > 0);
    assert.equal(
      p.classes.reduce((a, c) => a + c.backtracks, 0),
      p.backtracks,
    );
    assert.ok(Math.abs(p.classes.reduce((a, c) => a + c.share, 0) - 1) < 1e-9);
    for (let i = 1; i < p.classes.length; i++) assert.ok(p.classes[i - 1]!.backtracks >= p.classes[i]!.backtracks);
  }
});

test('race profile: three threads whose one steps all conflict give the 3! orders, all from one kind of race', () => {
  const p = profileRaces(perThreadSlots(3), {});
  assert.equal(p.executions, 6);
  assert.deepEqual(
    p.classes.map((c) => [c.first, c.second]),
    [['T#: write slots', 'T#: write slots']],
  );
  assert.equal(p.preemptionBound, null);
});

test('race profile: it stops where the DFS stops, at the first violation', () => {
  const p = profileRaces(counter(2, 2), {});
  assert.equal(p.violation, 'lost-update');
  assert.equal(p.exhausted, false);
});

test("race profile: a preemption bound and an execution budget are the DFS's", () => {
  const p = profileRaces(seqProtocol(2, 2, 2), { preemptionBound: 1, maxExecutions: 50 });
  assert.equal(p.preemptionBound, 1);
  assert.equal(p.executions, 50);
  assert.equal(p.exhausted, false);
});
