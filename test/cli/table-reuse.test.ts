import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-table-reuse-');

test('check table-reuse-mini (one vCPU: one interleaving): no violation, the space exhausted in one execution (exit 0)', async () => {
  const r = await captured(['check', 'table-reuse-mini', '--strategy', 'dfs']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^dfs: 1 execution \(exhausted\)/);
  assert.match(r.stdout, /\nno violation: the space was exhausted\n/);
});

test('check table-reuse-mini --mutate account-shadowed-no-flush: the level-1 table, unsync after the #PF handler set its PTE, is zapped with the level-2 page its zeroing floods; its own zeroing goes through its writable SPTE into the TLB; the new shadow page write-protects it with no flush, and the TLB still maps it writable (exit 1); replay says the same, exit 1', async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'table-reuse-mini', '--mutate', 'account-shadowed-no-flush', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^auto: 1 execution \(violation\)/);
  const lines = story(r.stdout);
  assert.match(
    lines.at(-1)!,
    /^=> stale-translation \(vCPU0\): account_shadowed write-protected gfn 0x8000403, a guest page table, but vCPU0's TLB still maps it writable \(pfn 0x[0-9a-f]+\) with no flush pending: a guest write to the table would not trap$/,
  );
  const at = (re: RegExp, from = 0) => lines.findIndex((l, i) => i >= from && re.test(l));
  const handler = at(/[:;] guest: process \d+ set the PTE of gva 0x400 again \(its #PF handler\)$/);
  // The handler's write to the level-1 table: the page goes unsync, its gfn mapped writable (the last such line before it).
  const unsync = lines.reduce(
    (last, l, i) => (i < handler && /: kvm_unsync_page: sp \d+ gfn 0x8000403 level 1 unsync, its gfn mapped writable$/.test(l) ? i : last),
    -1,
  );
  const zapL2 = at(/[:;] kvm_mmu_prepare_zap_page: sp \d+ gfn 0x8000402 level 2$/, handler);
  const zapL1 = at(/[:;] kvm_mmu_prepare_zap_page: sp \d+ gfn 0x8000403 level 1$/, handler);
  const zeroing = at(/: guest write gfn 0x8000403 → pfn 0x[0-9a-f]+ \(via (SPTE walk|TLB)\)$/, zapL1);
  const account = at(/[:;] account_shadowed: gfn 0x8000403 write-protected, not flushed \(the mutant's\): /, zeroing);
  assert.ok(unsync >= 0 && unsync < handler && handler < zapL2 && zapL2 + 1 === zapL1 && zapL1 < zeroing && zeroing < account, lines.join('\n'));
  assert.equal(account, lines.length - 2, 'the violation comes at the account_shadowed that did not flush');
  // Nothing flushed the vCPU's TLB between the table's zeroing and its new shadow page.
  assert.ok(!lines.slice(zeroing, account).some((l) => /flush TLB|kvm_flush_remote_tlbs|CR3 write/.test(l)), lines.slice(zeroing, account).join('\n'));
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
});
