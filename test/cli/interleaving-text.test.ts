import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { splitLockNotes } from '../../src/oracle/lock-notes.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-interleaving-text-');

/**
 * The CLI's output with each printed line's mmu_lock operations left out
 * ("16. vCPU0: read_lock(mmu_lock); is_page_fault_stale ..." reads
 * "16. vCPU0: is_page_fault_stale ..."), for the tests on what the events say.
 */
async function events(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await captured(args);
  const stdout = r.stdout
    .split('\n')
    .map((l) => {
      const m = /^( *\d+\. [^:]+: )(.*)$/.exec(l);
      return m === null ? l : m[1]! + splitLockNotes(m[2]!).event;
    })
    .join('\n');
  return { ...r, stdout };
}

test('a counterexample under shadow paging says which shadow page an SPTE is in, not that a leaf page is a root (a probe: "install SPTE gfn 0x1 → pfn 0x1000 in root 3", sp 3 a level-1 page, then "VM-entry on root 0")', async () => {
  const r = await events(['check', 'root-zap-mini', '--mutate', 'zap-root-no-request', '--out', join(dir, 'a.json')]);
  assert.equal(r.code, 1, r.stderr);
  const installs = r.stdout.split('\n').filter((l) => l.includes('install SPTE'));
  assert.ok(installs.length > 0);
  for (const l of installs) assert.match(l, / in sp \d+$/, l);
});

test('a retried fault is RET_PF_RETRY, with the check that sent it back, as the kernel and the ftrace log name it (a probe: RET_PF_RETRY_PRECHECK, which no kernel has)', async () => {
  const r = await events(['check', 'fault-vs-invalidation-mini', '--mutate', 'precheck-plain-read', '--out', join(dir, 'b.json')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /: page fault gfn 0x0: RET_PF_RETRY\(precheck\)\n/);
  assert.doesNotMatch(r.stdout, /RET_PF_RETRY_/);
});

test("the fault path's checks are in the story, with the values they read: the locked is_page_fault_stale a range-check mutant gets wrong, and the lockless pre-check's kept read (a probe: the step each mutant changes was not printed)", async () => {
  const range = await events(['check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', join(dir, 'c.json')]);
  assert.equal(range.code, 1, range.stderr);
  assert.match(
    range.stdout,
    /vCPU0: is_page_fault_stale gfn 0x0 \(mmu_invalidate_in_progress=1 range gfns \[0x0,0x1\), mmu_invalidate_seq=0, snapshot 0\): not stale \(the mutant skipped what says stale\)\n/,
  );
  const kept = await events(['check', 'fault-vs-invalidation-mini', '--mutate', 'precheck-plain-read', '--out', join(dir, 'd.json')]);
  assert.equal(kept.code, 1, kept.stderr);
  // The pre-check is range-based (mmu_invalidate_retry_gfn_unsafe): its line says the range and the snapshot it
  // compared with, and which said retry (a probe: in_progress and seq alone could not tell why the kept count spins).
  assert.match(
    kept.stdout,
    /vCPU1: lockless pre-check gfn 0x0: mmu_invalidate_in_progress=1 range gfns \[0x0,0x1\), mmu_invalidate_seq=1, snapshot 1: retry \(gfn in the range\)\n/,
  );
  assert.match(
    kept.stdout,
    /lockless pre-check gfn 0x0: mmu_invalidate_in_progress=1 \(kept from an earlier read: no READ_ONCE, the mutant's\) range gfns \[0x0,0x1\) \(left by kvm_mmu_invalidate_end\), mmu_invalidate_seq=2, snapshot 2: retry \(gfn in the range\)\n/,
  );
  assert.match(kept.stdout, /lockless pre-check gfn 0x0: mmu_invalidate_in_progress=0, mmu_invalidate_seq=0, snapshot 0: go on\n/);
});

test('the root and memslot steps a story rests on are printed: kvm_mmu_new_pgd with the cached roots, what kvm_mmu_free_obsolete_roots frees, each memslot set published (a probe: the CR3 switch that cached the root, and the removal of the memslot the violation names, were missing)', async () => {
  const cached = await events(['check', 'cached-roots-mini', '--mutate', 'free-obsolete-roots-tests-current', '--out', join(dir, 'e.json')]);
  assert.equal(cached.code, 1, cached.stderr);
  assert.match(cached.stdout, /vCPU0: kvm_mmu_new_pgd CR3 0x[0-9a-f]+: no cached root fits, one is built before entry; prev_roots sp 0\n/);
  // It keeps sp 0, which is obsolete: the line says so rather than 'finds none obsolete' after the mutant's
  // 'sp 0 is obsolete, kept cached' (a probe: the two lines contradicted each other).
  assert.match(
    cached.stdout,
    /vCPU0: kvm_mmu_free_obsolete_roots \(current none, prev_roots sp 0\): frees none: keeps obsolete sp 0 cached \(judged by the current root\)\n/,
  );
  // Published with the old generation and the update-in-progress bit (its final generation, 1, is stored after synchronize_srcu).
  assert.match(cached.stdout, /vmm: publish memslots generation 0 \(update in progress\): memslot 1 KVM_MEMSLOT_INVALID\n/);
});
