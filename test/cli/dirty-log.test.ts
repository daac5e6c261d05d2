import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertDefaultCheckExhausts, assertStoryInOrder, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-dirty-log-');

test('check dirty-log-mini (the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('dirty-log-mini');
});

test('check dirty-log-mini --set mmu=shadow: no violation either (rmaps, the write lock), bound 2 exhausted', async () => {
  const r = await captured(['check', 'dirty-log-mini', '--set', 'mmu=shadow']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
});

/** What each mutant's counterexample shows, in order, up to the lost write. */
const STORIES: Record<string, RegExp[]> = {
  'dirty-log-no-flush': [
    /mark_page_dirty_in_slot: gfn 0x0 dirty in memslot 0/,
    /guest write gfn 0x0 → pfn 0x[0-9a-f]+ \(via (?:the SPTE walk it made above|SPTE walk)\)/,
    /KVM_GET_DIRTY_LOG #1: xchg takes dirty gfns 0x0; kvm_arch_mmu_enable_log_dirty_pt_masked write-protects them/,
    /KVM_GET_DIRTY_LOG: gfn 0x0 leaf write-protected/,
    /KVM_GET_DIRTY_LOG #1 returns the bitmap \(gfns 0x0\), with no kvm_flush_remote_tlbs_memslot \(the mutant's\)/,
    /VMM copies gfn 0x0 \(reported by KVM_GET_DIRTY_LOG #1\)/,
    // The lost write: through a TLB entry, or through the walk its access made before
    // the write protection (its store is a step of its own in a dirty-log world).
    /guest write gfn 0x0 → pfn 0x[0-9a-f]+ \(via (?:TLB|the SPTE walk it made above)\)/,
  ],
  'dirty-log-enable-no-flush': [
    /guest write gfn 0x0 → pfn 0x[0-9a-f]+ \(via (?:the SPTE walk it made above|SPTE walk)\)/,
    /KVM_SET_USER_MEMORY_REGION memslot 0 flags KVM_MEM_LOG_DIRTY_PAGES/,
    /kvm_mmu_slot_apply_flags: gfn 0x0 leaf write-protected/,
    /KVM_SET_USER_MEMORY_REGION returns: 1 leaf\/leaves write-protected, with no kvm_flush_remote_tlbs_memslot \(the mutant's\)/,
    /VMM copies gfn 0x0 \(the first full copy\)/,
    // The lost write: through a TLB entry, or through the walk its access made before
    // the write protection (its store is a step of its own in a dirty-log world).
    /guest write gfn 0x0 → pfn 0x[0-9a-f]+ \(via (?:TLB|the SPTE walk it made above)\)/,
  ],
};

for (const mmu of ['tdp', 'shadow'] as const) {
  for (const [mutant, shows] of Object.entries(STORIES)) {
    test(`check dirty-log-mini --set mmu=${mmu} --mutate ${mutant}: a write through a translation the missing flush left usable (a TLB entry, or the walk of the write's own access), after the VMM copied the page, is lost (exit 1); replay prints the same lines`, async () => {
      const cex = join(dir, `${mmu}-${mutant}.json`);
      const r = await captured(['check', 'dirty-log-mini', '--set', `mmu=${mmu}`, '--mutate', mutant, '--out', cex]);
      assert.equal(r.code, 1, r.stderr);
      const lines = story(r.stdout);
      assert.match(
        lines.at(-1)!,
        /^=> lost-dirty-write \(vCPU\d\): vCPU\d wrote gfn 0x0 through its (?:TLB|SPTEs) and reached pfn 0x[0-9a-f]+ (?:without a fault|after a fault that (?:did not mark|marked) the page dirty), the VMM's last copy of the page coming before it \(after .*\), and by the end gfn 0x0's dirty bit is clear, with no copy or mark of it still to come: no harvest will report this write, and the migrated copy lacks it(?: \(vCPU\d's TLB entry still allowed writes\))?$/,
      );
      // Judged at the end of the run: no copy of the page, and no mark of it, after the lost write.
      assertStoryInOrder(lines, shows, { none: /VMM copies gfn 0x0|mark_page_dirty_in_slot: gfn 0x0/ });
      assert.match(r.stdout, new RegExp(`mutant ${mutant} acted 1 time in this execution`));
      const replay = await captured(['replay', cex]);
      assert.equal(replay.code, 1, replay.stderr);
      assert.deepEqual(story(replay.stdout), lines);
    });
  }
}

test('run dirty-log-mini --set fastPageFault=off --json and --ftrace (seed 1): metrics.dirtyLog and the run table count the harvest and the write fault; the trace has the EPT violation on the read-only leaf, the slow path making it writable, and the mmulab_* dirty-log lines', async () => {
  const out = join(dir, 'run.json');
  const ftrace = join(dir, 'run.ftrace');
  // The slow path's fix of the write-protected leaf (fast_page_fault's: test/cli/fast-page-fault.test.ts).
  const r = await captured(['run', 'dirty-log-mini', '--set', 'fastPageFault=off', '--json', out, '--ftrace', ftrace]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /dirty log: harvests, pages harvested +1, 1\n +leaves write-protected, wp faults +2, 1\n +pages copied by the VMM +2\n/);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(j.metrics.dirtyLog, { harvests: 1, pagesHarvested: 1, leavesWriteProtected: 2, pagesMarked: 1, wpFaults: 1, pagesCopied: 2 });
  const log = readFileSync(ftrace, 'utf8');
  assert.match(
    log,
    /kvm_tdp_mmu_spte_changed: as id 0 gfn 0 level 1 old_spte ([0-9a-f]+)7 new_spte \1(?:5)\n.*mmulab_dirty_log_wrprot: gfn 0 by kvm_mmu_slot_apply_flags was_writable 1/,
  );
  assert.match(log, /kvm_exit: +vcpu \d reason EPT_VIOLATION rip 0x0 info1 0x00000000000001aa /);
  assert.match(
    log,
    /mmulab_mark_page_dirty: vcpu \d slot 0 gfn 0 wp_fault\n.*kvm_tdp_mmu_spte_changed: as id 0 gfn 0 level 1 old_spte ([0-9a-f]+)5 new_spte \1(?:7)/,
  );
  assert.match(log, /mmulab_get_dirty_log: slot 0 nr 1 returned gfns 0 flush done/);
  assert.match(log, /mmulab_dirty_log_copy: slot 0 nr 1 gfn 0/);
});

test('dirty-log-mini grown to 2 pages, 2 harvests and 3 writes per vCPU (sequential): the default check exhausts bound 2 with no violation; dirty-log-no-flush is found, its lost write after harvest #1', async () => {
  const text = readFileSync(new URL('../../scenarios/dirty-log-mini.yaml', import.meta.url), 'utf8');
  const grown = text
    .replace('{ id: 0, baseGfn: 0, pages: 1 }', '{ id: 0, baseGfn: 0, pages: 2 }')
    .replace('  gfnCount: 1\n', '  gfnCount: 2\n  pattern: sequential\n')
    .replace('  accesses: 2\n', '  accesses: 3\n')
    .replace('harvests: 1,', 'harvests: 2,');
  assert.notEqual(grown, text);
  const file = join(dir, 'dirty-log-2x2.yaml');
  writeFileSync(file, grown);
  const r = await captured(['check', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
  const m = await captured(['check', file, '--mutate', 'dirty-log-no-flush']);
  assert.equal(m.code, 1, m.stderr);
  assert.match(story(m.stdout).at(-1)!, /^=> lost-dirty-write .*the VMM's last copy of the page coming before it \(after KVM_GET_DIRTY_LOG #1 reported it\)/);
});
