import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertDefaultCheckExhausts, assertStoryInOrder, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-fast-pf-');

test('check fast-pf-mini (the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('fast-pf-mini');
});

test('run dirty-log-mini --json and --ftrace (seed 1): the write to the write-protected leaf is fixed by fast_page_fault (faults.fast), its tracepoint as mmutrace.h prints it, a Perfetto instant per fast fault', async () => {
  const out = join(dir, 'run.json');
  const ftrace = join(dir, 'run.ftrace');
  const trace = join(dir, 'run.trace.json');
  const r = await captured(['run', 'dirty-log-mini', '--json', out, '--ftrace', ftrace, '--trace', trace]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n +faults ended in fast_page_fault +2\n/);
  const instants = (
    JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { ph: string; name: string; args?: Record<string, unknown> }[] }
  ).traceEvents.filter((t) => t.ph === 'i' && t.args?.event === 'fastPageFault');
  assert.deepEqual(
    // The instant's name is its kind's; what it says is its text arg.
    instants.map((t) => [t.name, t.args?.text, t.args?.ret]),
    [
      ['fast_page_fault', 'fast_page_fault gfn 0x0: RET_PF_FIXED without mmu_lock', 'fixed'],
      ['fast_page_fault', 'fast_page_fault gfn 0x0: spte pfn 0x1000 rwx already allows the write: RET_PF_SPURIOUS', 'spurious'],
    ],
  );
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.settings.fastPageFault, 'on');
  assert.equal(j.metrics.faults.fast, 2);
  assert.deepEqual(j.metrics.dirtyLog, { harvests: 1, pagesHarvested: 1, leavesWriteProtected: 2, pagesMarked: 1, wpFaults: 1, pagesCopied: 2 });
  const log = readFileSync(ftrace, 'utf8');
  assert.match(log, /mmulab_fast_pf_get_spte: vcpu \d gfn 0 spte ([0-9a-f]+)5\n/);
  assert.match(
    log,
    /mmulab_fast_pf_cmpxchg: vcpu \d gfn 0 old ([0-9a-f]+)5 cur \1(?:5) new \1(?:7) ok\n.*mmulab_mark_page_dirty: vcpu \d slot 0 gfn 0 wp_fault fast\n/,
  );
  assert.match(log, /fast_page_fault: +vcpu \d gva 0 error_code P\|W sptep [0-9a-f]+ old 0x([0-9a-f]+)5 new \1(?:7) spurious 0 fixed 1\n/);
  // No kvm_tdp_mmu_spte_changed for the fix: the cmpxchg bypasses handle_changed_spte.
  assert.doesNotMatch(log, /kvm_tdp_mmu_spte_changed: as id 0 gfn 0 level 1 old_spte [0-9a-f]+5 new_spte [0-9a-f]+7/);
});

/** What each mutant's counterexample shows, in order, and how it ends. */
const MUTANTS: Record<string, { scenario: string; shows: RegExp[]; end: RegExp }> = {
  'fast-pf-no-mark-dirty': {
    scenario: 'dirty-log-mini',
    shows: [
      /KVM_SET_USER_MEMORY_REGION memslot 0 flags KVM_MEM_LOG_DIRTY_PAGES/,
      /VMM copies gfn 0x0 \(the first full copy\)/,
      /VM-exit \(EPT violation: write to a write-protected SPTE\)/,
      /fast_page_fault gfn 0x0: lockless read of the leaf: spte pfn 0x[0-9a-f]+ r-x/,
      /fast_page_fault gfn 0x0: spte pfn 0x[0-9a-f]+ r-x → pfn 0x[0-9a-f]+ rwx \(cmpxchg ok\)/,
      /fast_page_fault gfn 0x0: RET_PF_FIXED without mmu_lock/,
      /guest write gfn 0x0 → pfn 0x[0-9a-f]+ \(via (?:the SPTE walk it made above|SPTE walk)\)/,
    ],
    end: /^=> lost-dirty-write \(vCPU\d\): vCPU\d wrote gfn 0x0 through its SPTEs and reached pfn 0x[0-9a-f]+ after a fault that did not mark the page dirty, the VMM's last copy of the page coming before it \(after KVM_SET_USER_MEMORY_REGION enabled KVM_MEM_LOG_DIRTY_PAGES\), and by the end gfn 0x0's dirty bit is clear, with no copy or mark of it still to come/,
  },
  'fast-pf-plain-write': {
    scenario: 'fast-pf-mini',
    shows: [
      /VM-exit \(EPT violation: write to a write-protected SPTE\)/,
      /fast_page_fault gfn 0x0: lockless read of the leaf: spte pfn 0x1000 r-x/,
      /migrate: zap SPTE gfn 0x0 \(was pfn 0x1000\) in root 0/,
      /migrate: invalidate_range_start returns/,
      /migrate: free pfn 0x1000/,
      /fast_page_fault gfn 0x0: spte pfn 0x1000 r-x → pfn 0x1000 rwx \(plain store over not present, no cmpxchg: the mutant's\)/,
      /guest write gfn 0x0 → pfn 0x1000 \(via (?:the SPTE walk it made above|SPTE walk)\)/,
    ],
    end: /^=> stale-translation \(vCPU\d\): vCPU\d wrote gfn 0x0 through its SPTEs and reached pfn 0x1000, which migrate freed \(use after free\); the host maps hva 0x[0-9a-f]+ to pfn 0x1001$/,
  },
};

for (const [mutant, { scenario, shows, end }] of Object.entries(MUTANTS)) {
  test(`check ${scenario} --mutate ${mutant}: found (exit 1), the mutant acted once; replay prints the same lines`, async () => {
    const cex = join(dir, `${mutant}.json`);
    const r = await captured(['check', scenario, '--mutate', mutant, '--out', cex]);
    assert.equal(r.code, 1, r.stderr);
    const lines = story(r.stdout);
    assert.match(lines.at(-1)!, end);
    // lost-dirty-write is judged at the end of the run: no copy or mark of the page after the write.
    assertStoryInOrder(lines, shows, end.source.includes('lost-dirty-write') ? { none: /VMM copies gfn 0x0|mark_page_dirty_in_slot: gfn 0x0/ } : undefined);
    assert.match(r.stdout, new RegExp(`mutant ${mutant} acted 1 time in this execution`));
    const replay = await captured(['replay', cex]);
    assert.equal(replay.code, 1, replay.stderr);
    assert.deepEqual(story(replay.stdout), lines);
  });
}

test('mmulab list --json: both mutants registered with the mini that exposes each, fast-pf-mini among the scenarios, fastPageFault among the settings', async () => {
  const r = await captured(['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const byName = new Map<string, string>(j.mutants.map((m: { name: string; scenario: string }) => [m.name, m.scenario]));
  assert.equal(byName.get('fast-pf-no-mark-dirty'), 'dirty-log-mini');
  assert.equal(byName.get('fast-pf-plain-write'), 'fast-pf-mini');
  assert.ok(j.scenarios.some((s: { name: string }) => s.name === 'fast-pf-mini'));
  assert.ok(j.settings.some((s: { key: string; default: string }) => s.key === 'fastPageFault' && s.default === 'on'));
});

test("compare and the HTML report show the metrics a run has only where its scenario uses the feature (a probe: dirty logging's and fast_page_fault's figures were in run's table and the JSON, not in compare's or the report's): rows when some run logs a slot, none otherwise", async () => {
  const dl = await captured(['compare', 'dirty-log-mini', '--vary', 'fastPageFault=off,on']);
  assert.equal(dl.code, 0, dl.stderr);
  assert.match(dl.stdout, /\ndirty log harvests +1 +1\n/);
  assert.match(dl.stdout, /\n {2}ended in fast_page_fault \(pf_fast\) +0 +2\n/);
  const plain = await captured(['compare', 'fault-vs-invalidation-mini', '--vary', 'faultPrecheck=off,lockless']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stdout, /dirty log|fast_page_fault|INVLPG/);
  const html = join(dir, 'dl.html');
  assert.equal((await captured(['run', 'dirty-log-mini', '--report', html])).code, 0);
  const page = readFileSync(html, 'utf8');
  for (const key of ['dirtyLog.harvests', 'dirtyLog.wpFaults', 'faults.fast'])
    assert.match(page, new RegExp(`data-metric="${key.replace('.', '\\.')}" data-value="\\d+"`));
});
