import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertDefaultCheckExhausts, assertStoryInOrder, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-dirty-log-clear-');

test('check dirty-log-manual-mini (the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('dirty-log-manual-mini');
});

test('check dirty-log-manual-mini --set mmu=shadow: no violation either (rmaps, the write lock), bound 2 exhausted', async () => {
  const r = await captured(['check', 'dirty-log-manual-mini', '--set', 'mmu=shadow']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
});

/** What each mutant's counterexample shows, in order, up to the end; and the MMUs whose default check finds it. */
const STORIES: Record<string, { mmus: readonly ('tdp' | 'shadow')[]; shows: RegExp[] }> = {
  'clear-dirty-log-plain-andnot': {
    // Only fast_page_fault marks without mmu_lock: TDP.
    mmus: ['tdp'],
    shows: [
      /KVM_GET_DIRTY_LOG #1 returns the bitmap \(gfns 0x0\): nothing cleared or write-protected, no flush/,
      // The read and the write back are lines of their own, the mark between them (a probe: one line after the mark said both).
      /^ *\d+\. migration: write_lock\(mmu_lock\); KVM_CLEAR_DIRTY_LOG \(after #1\): plain read of the bitmap word of gfns 0x0–0x1 \(no atomic_long_fetch_andnot: clear-dirty-log-plain-andnot writes it back in a later step\): bits set for gfns 0x0; to clear 0x0$/,
      /fast_page_fault gfn 0x1: spte pfn 0x[0-9a-f]+ r-x → pfn 0x[0-9a-f]+ rwx \(cmpxchg ok\)/,
      /fast_pf_fix_direct_spte: mark_page_dirty_in_slot: gfn 0x1 dirty in memslot 0/,
      /^ *\d+\. migration: KVM_CLEAR_DIRTY_LOG \(after #1\): plain write back of the word \(the mutant's\): as read, less gfns 0x0, clears 0x0; .*the bit of gfn\(s\) 0x1, set since the read, is lost$/,
      /VMM copies gfn 0x0 \(reported by KVM_GET_DIRTY_LOG #1\)/,
    ],
  },
  'clear-dirty-log-no-flush': {
    mmus: ['tdp', 'shadow'],
    shows: [
      /KVM_GET_DIRTY_LOG #1 returns the bitmap/,
      /KVM_CLEAR_DIRTY_LOG: gfn 0x[01] leaf write-protected/,
      /KVM_CLEAR_DIRTY_LOG \(after #1\) returns: gfns .* cleared, with no kvm_flush_remote_tlbs_memslot \(the mutant's\)/,
      /VMM copies gfn 0x[01] \(reported by KVM_GET_DIRTY_LOG #1\)/,
      /guest write gfn 0x[01] → pfn 0x[0-9a-f]+ \(via TLB\)/,
    ],
  },
  'dirty-log-copy-before-clear': {
    mmus: ['tdp', 'shadow'],
    shows: [
      /KVM_GET_DIRTY_LOG #1 returns the bitmap/,
      /the VMM copies the pages KVM_GET_DIRTY_LOG reported before KVM_CLEAR_DIRTY_LOG \(the mutant's order\)/,
      /VMM copies gfn 0x[01] \(reported by KVM_GET_DIRTY_LOG #1\)/,
      /guest write gfn 0x[01] → pfn 0x[0-9a-f]+/,
      /KVM_CLEAR_DIRTY_LOG \(after #1\): atomic_long_fetch_andnot of gfns .* clears/,
    ],
  },
};

for (const [mutant, { mmus, shows }] of Object.entries(STORIES)) {
  for (const mmu of mmus) {
    test(`check dirty-log-manual-mini --set mmu=${mmu} --mutate ${mutant}: a write after the VMM's copy is lost (exit 1, no warning), the mutant acted once; replay prints the same lines`, async () => {
      const cex = join(dir, `${mmu}-${mutant}.json`);
      const ftrace = join(dir, `${mmu}-${mutant}.ftrace`);
      const r = await captured(['check', 'dirty-log-manual-mini', '--set', `mmu=${mmu}`, '--mutate', mutant, '--out', cex, '--ftrace', ftrace]);
      assert.equal(r.code, 1, r.stderr);
      // The mutant is meant for this world, under either MMU: no warning that it is not (MutantSpec.needs).
      assert.equal(r.stderr, '');
      const lines = story(r.stdout);
      const lost =
        /^=> lost-dirty-write \(vCPU\d\): vCPU\d wrote gfn (0x[01]) through its (?:TLB|SPTEs) .*by the end gfn \1's dirty bit is clear, with no copy or mark of it still to come/.exec(
          lines.at(-1)!,
        );
      assert.ok(lost !== null, lines.at(-1));
      // Judged at the end of the run: no copy of the page, and no mark of it, after the last step shown.
      assertStoryInOrder(lines, shows, { none: new RegExp(`VMM copies gfn ${lost[1]} |mark_page_dirty_in_slot: gfn ${lost[1]} `) });
      assert.match(r.stdout, new RegExp(`mutant ${mutant} acted 1 time in this execution`));
      if (mutant === 'clear-dirty-log-plain-andnot') {
        // The ftrace has the plain read as a line of its own, before the mark and the write back.
        assert.match(
          readFileSync(ftrace, 'utf8'),
          /mmulab_clear_dirty_log: slot 0 nr 1 read mask 0 gfns 0 plain\n(?:.*\n)*.*mmulab_mark_page_dirty: .*gfn 1\b.*\n(?:.*\n)*.*mmulab_clear_dirty_log: slot 0 nr 1 cleared mask 0 gfns 0 lost 1 plain\n/,
        );
      }
      const replay = await captured(['replay', cex]);
      assert.equal(replay.code, 1, replay.stderr);
      assert.deepEqual(story(replay.stdout), lines);
    });
  }
}

test('dirty-log-manual-mini with protect: manual-initially-set: the default check exhausts bound 2 with no violation; clear-dirty-log-no-flush is found, with no warning, the first clear leaving a TLB entry from before logging writable', async () => {
  const text = readFileSync(new URL('../../scenarios/dirty-log-manual-mini.yaml', import.meta.url), 'utf8');
  const set = text.replace('protect: manual }', 'protect: manual-initially-set }');
  assert.notEqual(set, text);
  const file = join(dir, 'initially-set.yaml');
  writeFileSync(file, set);
  const r = await captured(['check', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
  const m = await captured(['check', file, '--mutate', 'clear-dirty-log-no-flush']);
  assert.equal(m.code, 1, m.stderr);
  // Meant for this world under protect: manual-initially-set too: no warning.
  assert.equal(m.stderr, '');
  const lines = story(m.stdout);
  assertStoryInOrder(
    lines,
    [
      /KVM_DIRTY_LOG_INITIALLY_SET, the dirty bitmap all set/,
      /kvm_mmu_slot_apply_flags write-protects nothing/,
      /KVM_CLEAR_DIRTY_LOG \(after #1\) returns: gfns 0x0, 0x1 cleared, with no kvm_flush_remote_tlbs_memslot \(the mutant's\)/,
      // Through a TLB entry the clear left writable, or the store of a walk made before its write protection.
      /guest write gfn 0x[01] → pfn 0x[0-9a-f]+ \(via (?:TLB|the SPTE walk it made above)\)/,
    ],
    { none: /mark_page_dirty_in_slot/ },
  );
  assert.match(
    lines.at(-1)!,
    /^=> lost-dirty-write \(vCPU\d\): vCPU\d wrote gfn 0x[01] through its (?:TLB|SPTEs) .*\(after KVM_GET_DIRTY_LOG #1 reported it\)/,
  );
});

test('run dirty-log-manual-mini --json --ftrace --trace (seed 1): metrics.dirtyLog counts the clear, the run table has its row, the trace has mmulab_get_dirty_log (manual) and mmulab_clear_dirty_log lines and a Perfetto instant per clear event', async () => {
  const out = join(dir, 'run.json');
  const ftrace = join(dir, 'run.ftrace');
  const trace = join(dir, 'run.trace.json');
  const r = await captured(['run', 'dirty-log-manual-mini', '--json', out, '--ftrace', ftrace, '--trace', trace]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n {2}KVM_CLEAR_DIRTY_LOG clears, pages cleared +1, 2\n/);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(j.metrics.dirtyLog, {
    harvests: 1,
    pagesHarvested: 2,
    leavesWriteProtected: 4,
    pagesMarked: 2,
    wpFaults: 2,
    pagesCopied: 4,
    clears: 1,
    pagesCleared: 2,
  });
  const log = readFileSync(ftrace, 'utf8');
  assert.match(
    log,
    /mmulab_get_dirty_log: slot 0 nr 1 copied gfns 0,1 manual\n.*mmulab_get_dirty_log: slot 0 nr 1 returned gfns 0,1 flush none-needed manual\n/,
  );
  // The clear's write protection is an SPTE change the TDP MMU traces (W, bit 1, goes), then mmulab's line of it.
  assert.match(
    log,
    /mmulab_clear_dirty_log: slot 0 nr 1 cleared mask 0,1 gfns 0,1\n.*kvm_tdp_mmu_spte_changed: as id 0 gfn 0 level 1 old_spte 600000001000b77 new_spte 600000001000b75\n.*mmulab_dirty_log_wrprot: gfn 0 by KVM_CLEAR_DIRTY_LOG was_writable 1\n/,
  );
  assert.match(log, /mmulab_clear_dirty_log: slot 0 nr 1 returned mask 0,1 gfns 0,1 flush done\n.*mmulab_dirty_log_copy: slot 0 nr 1 gfn 0\n/);
  const events = JSON.parse(readFileSync(trace, 'utf8')).traceEvents as { ph: string; name: string; args?: Record<string, unknown> }[];
  const clears = events.filter((e) => e.ph === 'i' && /^KVM_CLEAR_DIRTY_LOG/.test(e.name));
  assert.equal(clears.length, 2);
  assert.deepEqual(
    clears.map((e) => [e.args?.phase, e.args?.mask, e.args?.cleared]),
    [
      ['cleared', '0x0, 0x1', '0x0, 0x1'],
      ['returned', '0x0, 0x1', '0x0, 0x1'],
    ],
  );
});

test('run with host.dirtyLog.protect: clear: one line naming the file and the field, exit 2', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'vm:\n  vcpus: 1\n  memslots: [{ id: 0, baseGfn: 0, pages: 1 }]\nhost:\n  dirtyLog: { slot: 0, protect: clear }\n');
  const r = await captured(['run', file]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `mmulab: ${file}:5:33 host.dirtyLog.protect: expected one of "get", "manual", "manual-initially-set"\n`);
});
