import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FtraceSink } from '../../src/report/ftrace.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith, shortScenario } from './fixtures.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dirty-log-numa.yaml');
/** The same slot's pages aged by host reclaim instead (EPT A/D bits). */
const AGING = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dirty-log-aging.yaml');

/** The log's lines of a run of `s` (seed 1). */
function ftraceLines(s: ReturnType<typeof loadScenario>, settings = {}): string[] {
  const sink = new FtraceSink();
  runWith(s, [sink], { seed: 1, settings });
  return [...sink.render({ title: s.name })].join('').split('\n');
}

/** Virtual ns of a trace-cmd line ("secs.nsecs:"). */
const nsOf = (line: string) => Math.round(Number(/ (\d+\.\d{9}): /.exec(line)![1]) * 1e9);

/**
 * Each kvm_tdp_mmu_spte_changed's old_spte against the last value the log gave
 * its gfn's leaf (a change's new_spte, fast_page_fault's cmpxchg's new), up to
 * `untilNs`: the mismatches, and how many zaps of a leaf without W were checked.
 * `aBitSet`: the old value may have the A bit (0x100) the last lacked, which the
 * guest's walk sets with no line (EPT A/D bits, in a world that ages pages).
 */
function chain(lines: string[], untilNs: number, aBitSet = false) {
  const last = new Map<string, string>();
  const bad: string[] = [];
  let readOnlyZaps = 0;
  for (const line of lines) {
    if (!/ \d+\.\d{9}: /.test(line) || nsOf(line) >= untilNs) continue;
    const fast = /mmulab_fast_pf_cmpxchg: +vcpu \d+ gfn (\w+) old \w+ cur \w+ new (\w+) ok/.exec(line);
    if (fast) last.set(fast[1]!, fast[2]!);
    const m = /kvm_tdp_mmu_spte_changed: +as id 0 gfn (\w+) level 1 old_spte (\w+) new_spte (\w+)/.exec(line);
    if (!m) continue;
    const [, gfn, old, next] = m as unknown as [string, string, string, string];
    const prev = last.get(gfn);
    const walked = aBitSet && prev !== undefined && (BigInt(`0x${prev}`) | 0x100n) === BigInt(`0x${old}`);
    if (prev !== undefined && prev !== old && !walked) bad.push(`${line.trim()} (the leaf was ${prev})`);
    if (next === '8000000000000000' && (BigInt(`0x${old}`) & 2n) === 0n && old !== next) readOnlyZaps++;
    last.set(gfn, next);
  }
  return { bad, readOnlyZaps };
}

// A probe: a zap's old_spte was rebuilt as a writable leaf: gfn 0, write-protected at 100,050 ns
// (old_spte ...b77 new_spte ...b75), zapped by NUMA balancing at 155,910 ns, printed old_spte
// ...b77, the W bit back. Up to the first harvest every W change is traced (the enable's
// write protection, faults and fast_page_fault's cmpxchg), so the chain must hold.
test('ftrace (dirty logging under TDP, NUMA balancing zapping the logged slot, seed 1): a zap prints old_spte as the leaf was, W clear where dirty logging write-protected it', () => {
  const lines = ftraceLines(loadScenario(FIXTURE));
  const harvest = lines.find((l) => l.includes(' mmulab_get_dirty_log: '))!;
  const { bad, readOnlyZaps } = chain(lines, nsOf(harvest));
  assert.deepEqual(bad, []);
  assert.ok(readOnlyZaps >= 10, `${readOnlyZaps} zaps of write-protected leaves`);
});

// Without A/D bits aging marks leaves for access tracking (RWX cleared): a zap of one prints it so.
test('ftrace (page-aging, eptAdBits=off, seed 1, 3 ms): a zap of a leaf aging marked for access tracking prints old_spte marked (R, W, X clear), as the mark left it', () => {
  const lines = ftraceLines(shortScenario('page-aging', 3_000_000), { eptAdBits: 'off' });
  const last = new Map<string, string>();
  let trackedZaps = 0;
  for (const line of lines) {
    const fast = /mmulab_fast_pf_cmpxchg: +vcpu \d+ gfn (\w+) old \w+ cur \w+ new (\w+) ok/.exec(line);
    if (fast) last.set(fast[1]!, fast[2]!);
    const m = /kvm_tdp_mmu_spte_changed: +as id 0 gfn (\w+) level 1 old_spte (\w+) new_spte (\w+)/.exec(line);
    if (!m) continue;
    const prev = last.get(m[1]!);
    if (m[3] === '8000000000000000' && prev !== undefined && (BigInt(`0x${prev}`) & 7n) === 0n) {
      trackedZaps++;
      assert.equal(m[2], prev, line);
    }
    last.set(m[1]!, m[3]!);
  }
  assert.ok(trackedZaps >= 1, `${trackedZaps} zaps of access-tracked leaves`);
});

// A probe: a harvest's write protection under TDP (kvm_tdp_mmu_clear_dirty_pt_masked) printed
// "mmulab_dirty_log_wrprot: gfn 10 by KVM_GET_DIRTY_LOG was_writable 1" and no SPTE change, so
// the zap at 632,570 ns printed old_spte ...b75 with no line before it that cleared W.
test('ftrace (the same run, to its end): a harvest write-protecting a writable leaf traces the change (kvm_tdp_mmu_spte_changed, W cleared), so every old_spte is the value the log last gave the leaf', () => {
  const lines = ftraceLines(loadScenario(FIXTURE));
  const { bad, readOnlyZaps } = chain(lines, Number.POSITIVE_INFINITY);
  assert.deepEqual(bad, []);
  assert.ok(readOnlyZaps >= 10, `${readOnlyZaps} zaps of write-protected leaves`);
  const harvested = lines.findIndex((l) => / mmulab_dirty_log_wrprot: gfn \w+ by KVM_GET_DIRTY_LOG was_writable 1$/.test(l));
  assert.ok(harvested > 0, 'a harvest write-protected a writable leaf');
  assert.match(lines[harvested - 1]!, / kvm_tdp_mmu_spte_changed: +as id 0 gfn \w+ level 1 old_spte \w+7 new_spte \w+5$/);
});

// A probe: aging and dirty logging on one slot printed a write-protected leaf's aging as
// "old_spte 600000001030b77 new_spte 600000001030a77" (W back, 13 such lines), and the
// write protection of a leaf aging had cleared the A bit of with A set again.
test('ftrace (dirty logging under TDP while reclaim ages the slot, EPT A/D bits, seed 1): aging prints a write-protected leaf without W, a write protection an aged leaf without A, each old_spte the value the log last gave the leaf (or that with the A bit the guest walk sets)', () => {
  const lines = ftraceLines(loadScenario(AGING));
  const { bad } = chain(lines, Number.POSITIVE_INFINITY, true);
  assert.deepEqual(bad, []);
  const changes = lines.filter((l) => l.includes(' kvm_tdp_mmu_spte_changed: '));
  // Aging's clear of a write-protected leaf (A and W clear after), and a write protection of an aged leaf.
  assert.ok(changes.filter((l) => /old_spte \w+b75 new_spte \w+a75$/.test(l)).length >= 10);
  assert.ok(changes.filter((l) => /old_spte \w+a77 new_spte \w+a75$/.test(l)).length >= 10);
});
