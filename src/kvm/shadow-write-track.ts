import type { Task } from '../runtime/thread.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { isObsoleteSp, ROOT_LEVEL, type ShadowPage, spteIndex, WRITE_FLOODING_THRESHOLD } from './shadow-page.js';
import { kvmMmuPrepareZapPage, kvmMmuRemoteFlushOrZap, mmuPageZapPte } from './shadow-zap.js';
import type { Vcpu } from './vcpu.js';

/**
 * @kernel mmu.c detect_write_flooding — the guest keeps writing a table nothing
 * walks: it is probably not a page table any more. Level-1 pages are exempt:
 * their gfn is not write-tracked (a write to it unsyncs them, shadow-unsync.ts),
 * so a level-1 page met here shares its gfn with a higher-level one and only
 * loses the SPTE written.
 */
function detectWriteFlooding(sp: ShadowPage): boolean {
  if (sp.level === 1) return false;
  return ++sp.writeFloodingCount >= WRITE_FLOODING_THRESHOLD;
}

/**
 * @kernel mmu.c shadow_page_table_clear_flood — a write fault on a write-tracked
 * gfn shows that the guest still uses the tables its own access goes through:
 * the shadow pages on the vCPU's walk of that address, from the current root
 * down as far as SPTEs are present, start counting writes afresh. So a table the
 * guest writes while it is loaded (the running process's PGD, cleared by
 * exit_mmap) never floods; one written from another address space (a cached
 * root's, once its page is reused) does (thread 003).
 */
export function shadowPageTableClearFlood(mmu: ShadowMmu, vcpu: Vcpu, gva: number): void {
  const r = vcpu.root.root;
  if (r < 0) return;
  let sp: ShadowPage | undefined = mmu.sps[r];
  for (let level = ROOT_LEVEL; sp !== undefined && !sp.freed; level--) {
    sp.writeFloodingCount = 0;
    if (level === 1) return;
    const child = sp.sptes.get(spteIndex(gva, level));
    sp = child === undefined ? undefined : mmu.sps[child];
  }
}

/**
 * @kernel mmu.c kvm_mmu_track_write — the guest wrote entry `index` of the
 * write-protected table at `gfn` (the emulator did it for the guest; entries
 * [index, through) when one write stands for the rest of a clear_page). Every valid
 * page shadowing the gfn either loses the SPTE the write covers, or, when the
 * writes flood, is zapped whole — a root too, which is how a process exit zaps
 * its root while a vCPU still caches it (thread 003). Then one flush or commit.
 */
export function* kvmMmuTrackWrite(mmu: ShadowMmu, gfn: number, index: number, through = index + 1): Task {
  const kvm = mmu.kvm;
  kvm.mmuLock.assertWriteHeld('kvm_mmu_track_write');
  // What it did, for the step log and traces only: allocated when one listens.
  const told = kvm.listens('trackWrite') ? { updated: [] as number[], counts: [] as number[], flooded: [] as number[], dropped: 0 } : null;
  if (mmu.indirectShadowPages === 0) {
    if (told !== null) emitTrackWrite(mmu, gfn, index, through, told, true);
    return;
  }
  const invalidList: ShadowPage[] = [];
  let flush = false;
  for (const sp of [...mmu.hash.bucket(gfn)]) {
    if (sp.gfn !== gfn || !sp.hasGptes || isObsoleteSp(kvm, sp)) continue;
    if (detectWriteFlooding(sp)) {
      told?.flooded.push(sp.id);
      yield* kvmMmuPrepareZapPage(mmu, sp, invalidList);
      continue;
    }
    if (told !== null) {
      told.updated.push(sp.id);
      told.counts.push(sp.level === 1 ? -1 : sp.writeFloodingCount);
    }
    if (through === index + 1) {
      if (mmuPageZapPte(mmu, sp, index)) {
        flush = true;
        if (told !== null) told.dropped++;
      }
      continue;
    }
    for (const i of [...sp.sptes.keys()]) {
      if (i >= index && i < through && mmuPageZapPte(mmu, sp, i)) {
        flush = true;
        if (told !== null) told.dropped++;
      }
    }
  }
  if (told !== null) emitTrackWrite(mmu, gfn, index, through, told, false);
  yield* kvmMmuRemoteFlushOrZap(mmu, invalidList, flush);
}

function emitTrackWrite(
  mmu: ShadowMmu,
  gfn: number,
  index: number,
  through: number,
  told: { updated: number[]; counts: number[]; flooded: number[]; dropped: number },
  none: boolean,
): void {
  mmu.kvm.emit({
    e: 'trackWrite',
    gfn,
    index,
    through,
    noShadowPages: none,
    updated: told.updated,
    floodingCounts: told.counts,
    flooded: told.flooded,
    dropped: told.dropped,
  });
}
