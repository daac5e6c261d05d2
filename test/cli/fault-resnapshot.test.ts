import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertStoryInOrder, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-fault-resnapshot-');

test('check fault-vs-invalidation-mini --mutate fault-seq-resnapshot-after-gup: found (exit 1) as a stale translation, the whole invalidation between the lookup of the old pfn and the second snapshot; the mutant acted once; replay prints the same lines', async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'fault-vs-invalidation-mini', '--mutate', 'fault-seq-resnapshot-after-gup', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assertStoryInOrder(lines, [
    /vCPU\d: snapshot mmu_invalidate_seq=0$/,
    /vCPU\d: gfn 0x0: hva \S+ → pfn 0x1000 \(get_user_pages\)/,
    /migrate: .*kvm_mmu_invalidate_end: mmu_invalidate_seq=1, in_progress=0/,
    /vCPU\d: snapshot mmu_invalidate_seq=\d again after get_user_pages, in place of 0 \(the mutant's\): newer than the pfn/,
    /vCPU\d: .*is_page_fault_stale gfn 0x0 .*: not stale/,
    /vCPU\d: install SPTE gfn 0x0 → pfn 0x1000/,
    /vCPU\d: guest (?:read|write) gfn 0x0 → pfn 0x1000/,
  ]);
  assert.match(lines.at(-1)!, /^=> stale-translation \(vCPU\d\): .*reached pfn 0x1000/);
  assert.match(r.stdout, /mutant fault-seq-resnapshot-after-gup acted 1 time in this execution/);
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
  // The kernel's snapshot, taken before the lookup, is older than the invalidation: its check after get_user_pages retries.
  const without = await captured(['replay', cex, '--without-mutant']);
  assert.equal(without.code, 0, without.stdout + without.stderr);
  assert.match(without.stdout, /lockless check after get_user_pages gfn 0x0: .*: retry, releasing the pfn/);
});

test('fault-seq-resnapshot-after-gup acts under either MMU and without the pre-check (MutantSpec.needs: no setting, a host invalidation): found with no warning that it may never act', async () => {
  for (const set of ['faultPrecheck=off', 'mmu=shadow']) {
    const r = await captured([
      'check',
      'fault-vs-invalidation-mini',
      '--set',
      set,
      '--mutate',
      'fault-seq-resnapshot-after-gup',
      '--out',
      join(dir, `${set}.json`),
    ]);
    assert.equal(r.code, 1, `${set}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stderr, /may never act|never acted/, set);
    assert.match(r.stdout, /=> stale-translation/, set);
  }
});
