import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_COSTS } from '../../src/kvm/costs.js';
import type { EventStamp, KvmEvent } from '../../src/kvm/events.js';
import { drawnChoices } from '../../src/scenario/drawn-choices.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { simulate } from '../../src/simulate/simulate.js';
import { assertBad, fileIn } from '../cli/bad-input-asserts.js';
import { captured } from '../cli/captured-cli.js';
import type { Attachable } from '../report/fixtures.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('mmulab-phases-');

/** Two memslots, gfns [0, 64) and [256, 320); two vCPUs on the first, three accesses each. */
const BASE = `vm:
  vcpus: 2
  memslots:
    - { id: 0, baseGfn: 0, pages: 64 }
    - { id: 1, baseGfn: 256, pages: 64 }
stop:
  timeNs: 1000000
workload:
  gfnCount: 64
  accesses: 3
`;

/** The guest accesses of a run, in order, with their times. */
class Accesses implements Attachable {
  readonly seen: { vcpu: number; gfn: number; ts: number }[] = [];
  readonly exits: { vcpu: number; reason: string; gfn: number | undefined; ts: number }[] = [];
  attach(): void {}
  on(ev: KvmEvent, at: EventStamp): void {
    if (ev.e === 'guestAccess') this.seen.push({ vcpu: ev.vcpu, gfn: ev.gfn, ts: at.ts });
    else if (ev.e === 'vmExit') this.exits.push({ vcpu: ev.vcpu, reason: ev.reason, gfn: 'gfn' in ev ? (ev.gfn as number) : undefined, ts: at.ts });
  }
}

function runOf(scenario: Scenario, seed = 1): { result: string; events: Accesses } {
  const events = new Accesses();
  const r = simulate(scenario, { settings: effectiveSettings(scenario), mutant: null, seed, sinks: [events] });
  return { result: JSON.stringify(r), events };
}

test('phases: a scenario with them loads (workload and a vcpuWorkloads entry, by time or by access count); one without has no phases key, so it digests as before', () => {
  const s = parseScenario(
    `${BASE}  phases:\n    - { fromNs: 5000, gfnStart: 256, pattern: sequential }\n    - { fromNs: 9000, writeRatio: 1, accessIntervalNs: 50 }\nvcpuWorkloads:\n  - { phases: [{ fromAccess: 2, gfnStart: 256, gfnCount: 8 }] }\n`,
    'good.yaml',
  );
  assert.deepEqual(s.workload.phases, [
    { fromNs: 5000, gfnStart: 256, pattern: 'sequential' },
    { fromNs: 9000, writeRatio: 1, accessIntervalNs: 50 },
  ]);
  assert.deepEqual(s.vcpuWorkloads[0]!.phases, [{ fromAccess: 2, gfnStart: 256, gfnCount: 8 }]);
  assert.equal('phases' in parseScenario(BASE, 'plain.yaml').workload, false);
  assert.equal('phases' in loadScenario('fault-during-invalidation').workload, false);
});

test('phases: bad input is refused at the field, one line, exit 2', async () => {
  const phases = (list: string, extra = '') => `${BASE}  phases:\n${list}${extra}`;
  const cases: [string, string, RegExp][] = [
    [
      'warm.yaml',
      phases('    - { fromNs: 10, warmPages: 1 }\n'),
      /workload\.phases\[0\]\.warmPages: unknown key 'warmPages', expected one of fromNs, fromAccess, pattern, gfnStart/,
    ],
    ['shadow.yaml', phases('    - { fromNs: 10, processes: 2 }\n'), /workload\.phases\[0\]\.processes: unknown key 'processes'/],
    ['accesses.yaml', phases('    - { fromNs: 10, accesses: 2 }\n'), /workload\.phases\[0\]\.accesses: unknown key 'accesses'/],
    [
      'nostart.yaml',
      phases('    - { gfnStart: 256 }\n'),
      /workload\.phases\[0\]: no start; expected fromNs \(a virtual time\) or fromAccess \(an access count\)$/,
    ],
    [
      'both.yaml',
      phases('    - { fromNs: 10, fromAccess: 1 }\n'),
      /workload\.phases\[0\]\.fromAccess: a phase starts once; expected fromNs or fromAccess, not both$/,
    ],
    ['zero.yaml', phases('    - { fromNs: 0 }\n'), /workload\.phases\[0\]\.fromNs: expected > 0/],
    [
      'order.yaml',
      phases('    - { fromNs: 100, gfnStart: 256 }\n    - { fromNs: 100, gfnStart: 0 }\n'),
      /:13:\d+ workload\.phases\[1\]\.fromNs: 100, not after phases\[0\]'s 100; expected fromNs strictly increasing$/,
    ],
    [
      'mixed.yaml',
      phases('    - { fromNs: 100 }\n    - { fromAccess: 2 }\n'),
      /workload\.phases\[1\]\.fromAccess: phases\[0\] starts by fromNs; expected every phase of the list to start by fromNs$/,
    ],
    [
      'range.yaml',
      phases('    - { fromNs: 100, gfnStart: 128 }\n'),
      /:12:\d+ workload\.phases\[0\]\.gfnStart: vCPU0's gfns in phase 0 \[0x80, 0xc0\) reach gfn 0x80, which no memslot ever holds: its accesses there would be MMIO exits, not memory$/,
    ],
    [
      'own.yaml',
      `${BASE}vcpuWorkloads:\n  - {}\n  - { phases: [{ fromAccess: 1, gfnStart: 256, gfnCount: 65 }] }\n`,
      /vcpuWorkloads\[1\]\.phases\[0\]\.gfnCount: vCPU1's gfns in phase 0 \[0x100, 0x141\) reach gfn 0x140, which no memslot ever holds/,
    ],
    [
      'never.yaml',
      phases('    - { fromAccess: 3, gfnStart: 256 }\n'),
      /workload\.phases\[0\]\.fromAccess: 3, but vCPU0 halts after 3 accesses \(accesses\): the phase would never start; expected fromAccess below 3$/,
    ],
  ];
  for (const [name, text, pattern] of cases) assertBad(await captured(['run', fileIn(dir, name, text)]), pattern);
  // Under shadow paging a phase's gfns, as the base's, lie in the guest's user half.
  const kernelHalf = `${BASE.replace('baseGfn: 256, pages: 64', 'baseGfn: 0x8000000, pages: 8192')}  phases: [{ fromNs: 1000, gfnStart: 0x8000000 }]\nsettings: { mmu: shadow }\n`;
  assertBad(
    await captured(['run', fileIn(dir, 'shadow-half.yaml', kernelHalf)]),
    /workload\.phases\[0\]: gfnStart \+ gfnCount 134217792 reaches past the guest's user half \(0x8000000\) under shadow paging$/,
  );
});

test('phases: check refuses a phase by time (its threads keep clocks of their own), exit 2 naming the field; by access count it checks', async () => {
  const byTime = fileIn(dir, 'check-time.yaml', `${BASE}  phases:\n    - { fromNs: 1000, gfnStart: 256 }\n`);
  assertBad(
    await captured(['check', byTime]),
    /check-time\.yaml:12:\d+ workload\.phases\[0\]\.fromNs: the checker ignores time .*; expected phases that start by fromAccess \(the vCPU's access count\)/,
  );
  const byCount = fileIn(
    dir,
    'check-count.yaml',
    `${BASE.replace('vcpus: 2', 'vcpus: 1')}  writeRatio: 0\n  phases:\n    - { fromAccess: 1, gfnStart: 256 }\n`,
  );
  const r = await captured(['check', byCount]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no violation/);
});

test('phases: check of a guest following a moved slot by access count (test/fixtures/memslot-move-follow-check.yaml): none at bound 1; mmio-check-ignores-update-in-progress gives stale-mmio on a new gfn at 19 generation bits', async () => {
  const world = 'test/fixtures/memslot-move-follow-check.yaml';
  const clean = await captured(['check', world, '--preemption-bound', '1']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /no violation: every interleaving with at most 1 preemption was run/);
  const mutated = await captured(['check', world, '--mutate', 'mmio-check-ignores-update-in-progress', '--out', `${dir}/follow-cex.json`]);
  assert.equal(mutated.code, 1, mutated.stderr);
  assert.match(mutated.stdout, /=> stale-mmio \(vCPU\d\): vCPU\d's MMIO fast path emulated gfn 0x2[01] /);
});

test('phases: by access count, the access numbered fromAccess is the first of the phase; a sequential walk keeps its offset in the new range', () => {
  const s = parseScenario(
    `${BASE.replace('vcpus: 2', 'vcpus: 1').replace('accesses: 3', 'accesses: 9')}  pattern: sequential\n  phases:\n    - { fromAccess: 4, gfnStart: 256 }\n    - { fromAccess: 7, gfnStart: 0, gfnCount: 2 }\n`,
    'count.yaml',
  );
  // Phase 1's keys are over the base (gfnStart 0 again), not over phase 0's; the offset goes on (7 % 2).
  assert.deepEqual(
    runOf(s).events.seen.map((a) => a.gfn),
    [0, 1, 2, 3, 256 + 4, 256 + 5, 256 + 6, 1, 0],
  );
});

test('phases: by time, accesses drawn before fromNs are the base range, those drawn after it the phase range, with the phase think time', () => {
  const s = parseScenario(
    `${BASE.replace('accesses: 3', 'accesses: 0')}  accessIntervalNs: 1000\n  phases:\n    - { fromNs: 50000, gfnStart: 256, accessIntervalNs: 3000 }\n`,
    'time.yaml',
  );
  s.stop.timeNs = 200_000;
  const { seen, exits } = runOf(s).events;
  // An access is drawn once the one before it retires (its guestAccess, then the access's own cost).
  const drawnAfter = (a: { ts: number }) => a.ts + DEFAULT_COSTS.guestAccessNs;
  for (const v of [0, 1]) {
    const mine = seen.filter((a) => a.vcpu === v);
    const first = mine.findIndex((a) => a.gfn >= 256);
    assert.ok(first > 3, `vCPU${v} switched at access ${first}`);
    // One switch: every access before it on the base range, every one after on the phase's.
    assert.ok(mine.slice(0, first).every((a) => a.gfn < 64));
    assert.ok(mine.slice(first).every((a) => a.gfn >= 256 && a.gfn < 320));
    // The last base access was drawn before fromNs, the first phase access at or after it.
    assert.ok(drawnAfter(mine[first - 2]!) < 50_000 && drawnAfter(mine[first - 1]!) >= 50_000, `drawn at ${drawnAfter(mine[first - 1]!)}`);
    // The think time after each access (to the next access's exit or, through the TLB, the access): the base's 1 µs, then the phase's 3 µs.
    const next = (a: { ts: number }) => Math.min(...[...exits, ...mine].filter((x) => x.vcpu === v && x.ts > a.ts).map((x) => x.ts));
    const think = mine.slice(0, -1).map((a) => next(a) - drawnAfter(a));
    assert.ok(think.slice(0, first - 1).every((t) => t >= 1000 && t < 3000) && think.slice(first - 1).every((t) => t >= 3000), think.join(' '));
  }
});

test('memslot-move-follow (seed 1): the vCPUs follow the moved slot: after the phase no MMIO exit, every fault on the new gfns; without the phase MMIO goes on to the end', () => {
  const MOVE = 2_000_000;
  const FOLLOW = 2_200_000;
  const s = loadScenario('memslot-move-follow');
  s.stop.timeNs = 3_000_000;
  assert.equal(s.host.memslotChanges[0]!.atNs, MOVE);
  assert.equal(s.workload.phases![0]!.fromNs, FOLLOW);
  const follow = runOf(s).events;
  const mmio = (e: Accesses, from: number, to: number) => e.exits.filter((x) => x.reason === 'ept-misconfig' && x.ts >= from && x.ts < to).length;
  const oldGfn = (g: number | undefined) => g !== undefined && g >= 0x10000 && g < 0x11000;
  const newGfn = (g: number | undefined) => g !== undefined && g >= 0x20000 && g < 0x21000;
  // Before the move: the old gfns only.
  assert.ok(follow.seen.filter((a) => a.ts < MOVE).every((a) => oldGfn(a.gfn)));
  // Between the move and the phase: the guest still touches the old gfns, which are MMIO now (emulated faults).
  const between = follow.exits.filter((x) => x.ts > MOVE && x.ts < FOLLOW && x.reason === 'ept-violation');
  assert.ok(between.length > 50 && between.every((x) => oldGfn(x.gfn)), `${between.length} exits between`);
  // After the phase (and the access each vCPU had drawn before it): no MMIO, every exit and access on the new gfns.
  const after = FOLLOW + 10_000;
  assert.equal(mmio(follow, after, Number.POSITIVE_INFINITY), 0);
  const exitsAfter = follow.exits.filter((x) => x.ts >= after && x.gfn !== undefined);
  assert.ok(exitsAfter.length > 100 && exitsAfter.every((x) => newGfn(x.gfn) && x.reason === 'ept-violation'), `${exitsAfter.length} faults after`);
  assert.ok(follow.seen.filter((a) => a.ts >= after).every((a) => newGfn(a.gfn)));
  // The same scenario without the phase: the guest stays on the old gfns, MMIO to the end.
  const stay = structuredClone(s);
  delete stay.workload.phases;
  const stayed = runOf(stay).events;
  assert.ok(mmio(stayed, after, Number.POSITIVE_INFINITY) > 100, `${mmio(stayed, after, Number.POSITIVE_INFINITY)} MMIO exits`);
  assert.ok(stayed.exits.every((x) => !newGfn(x.gfn)));
});

test('phases: drawnChoices names what a phase draws when its base draws nothing (a systematic search branches on it, or takes it from the seed)', () => {
  const one = BASE.replace('vcpus: 2', 'vcpus: 1').replace('gfnCount: 64', 'gfnCount: 1\n  writeRatio: 0');
  assert.deepEqual(drawnChoices(parseScenario(one, 'one.yaml')), []);
  assert.deepEqual(drawnChoices(parseScenario(`${one}  phases: [{ fromAccess: 1, gfnCount: 4 }]\n`, 'gfn.yaml')), ['the gfn each access touches (vCPU0)']);
  assert.deepEqual(drawnChoices(parseScenario(`${one}  phases: [{ fromAccess: 1, writeRatio: 0.5 }]\n`, 'write.yaml')), ['whether it writes (vCPU0)']);
});

test('phases: determinism: the same scenario and seed give the same result, twice', () => {
  const short = () => {
    const s = loadScenario('memslot-move-follow');
    s.stop.timeNs = 2_500_000;
    return s;
  };
  const a = runOf(short(), 3).result;
  assert.equal(runOf(short(), 3).result, a);
  assert.notEqual(runOf(short(), 4).result, a);
});
