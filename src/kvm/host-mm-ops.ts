import { op2, opPair, opWrite, READ, WRITE } from '../runtime/op.js';
import type { Task } from '../runtime/thread.js';
import { kvmMmuNotifierClearFlushYoung } from './age-gfn.js';
import { hvaText } from './events.js';
import type { Kvm } from './kvm.js';
import { kvmArchMmuNotifierInvalidateRange, kvmMmuNotifierInvalidateRangeEnd, kvmMmuNotifierInvalidateRangeStart } from './mmu-notifier.js';

/** What the host does to the pages of an invalidated range. */
export type InvalidationKind = 'reclaim' | 'migrate' | 'numa' | 'ksm';

/**
 * One host operation on guest memory, as reclaim, migration, NUMA balancing and
 * KSM do it: invalidate_range_start → change the PTEs → (->invalidate_range) →
 * free the old pages → hold → invalidate_range_end.
 * Where reclaim ages pages (Kvm.folioLocking), reclaim, migration and KSM lock
 * the folio first and unlock it at the end (shrink_folio_list,
 * migrate_folio_unmap, try_to_merge_one_page); NUMA balancing's
 * change_prot_numa locks no folio. `folioHeld`: the caller locked it already
 * (reclaim that aged the folio under its lock); it is unlocked here all the same.
 * @kernel mm/: try_to_unmap, migrate_pages, change_prot_numa, ksm's replace_page
 */
export function* hostInvalidate(kvm: Kvm, hvaStart: number, hvaEnd: number, kind: InvalidationKind, holdNs: number, folioHeld = false): Task {
  const folio = folioHeld || (kvm.folioLocking && kind !== 'numa');
  if (folio && !folioHeld) {
    // Race: an aging reclaim holding the folio across folio_referenced and,
    // when it finds the folio old, across the unmap: folio_lock sleeps until its
    // folio_unlock (the test that passes and the lock are one step).
    const lockOp = opWrite(kvm.objHostPageLocks);
    yield* kvm.hostPageWait.stepUntil(() => !kvm.host.folioLocked(hvaStart, hvaEnd), lockOp);
    kvm.host.folioTrylock(hvaStart, hvaEnd);
  }
  yield* kvmMmuNotifierInvalidateRangeStart(kvm, hvaStart, hvaEnd, kind);
  // From here until the end the pages are locked / under migration entries: a
  // get_user_pages on them waits (the locks seed 001 says GUP may need).
  // Race: a fault's get_user_pages testing those locks, or faulting a page of the
  // range in (this step looks for the range's mapped pages).
  yield opPair(WRITE, kvm.objHostPageLocks, READ, kvm.objHostPages);
  kvm.host.lockRange(hvaStart, hvaEnd);
  // The pages to free, as pfn and hva side by side (numbers, no object per page:
  // the list lives as long as the range's thousands of steps).
  const freed: number[] = [];
  for (let hva = hvaStart; hva < hvaEnd; hva++) {
    // A page not mapped stays so while the range is locked (get_user_pages waits
    // rather than fault it in), and nothing maps it: no step of its own, as the
    // kernel's walk skips what is not populated. A range of millions of unmapped
    // pages took as many steps, at no virtual cost.
    if (kvm.host.lookup(hva) < 0) continue;
    // Race: a fault's get_user_pages of this page (it read the old pfn or the new,
    // or it faulted the page in first), a guest access reaching it through a TLB;
    // a migration target is allocated here (the allocation order names the pfns),
    // and the next pages of the range are looked over for mapped ones.
    yield op2(WRITE, kvm.objHostPte(hva), kvm.objHostPages);
    const newPfn = kind === 'reclaim' ? -1 : kvm.host.allocPfn();
    const old = kvm.host.setPte(hva, newPfn);
    kvm.emit({ e: 'hostPteChange', hva, oldPfn: old, newPfn, kind });
    kvm.rt.charge(kvm.costs.hostPteChangeNs);
    if (old >= 0) freed.push(old, hva);
  }
  yield* kvmArchMmuNotifierInvalidateRange(kvm, hvaStart, hvaEnd);
  for (let i = 0; i < freed.length; i += 2) {
    const pfn = freed[i]!;
    const hva = freed[i + 1]!;
    kvm.host.free(pfn, hva, kvm.rt.now(), kind, kvm.rt.current?.name ?? kind);
    kvm.emit({ e: 'pfnFree', pfn, hva, kind });
  }
  if (holdNs > 0) yield* kvm.sleep(holdNs);
  yield* kvmMmuNotifierInvalidateRangeEnd(kvm, hvaStart, hvaEnd, kind);
  // Race: faults waiting in get_user_pages for the pages to be unlocked; where
  // folios are locked, a host operation waiting in folio_lock, an aging reclaim's
  // folio_trylock.
  yield opWrite(kvm.objHostPageLocks);
  kvm.host.unlockRange(hvaStart, hvaEnd);
  if (folio) kvm.host.folioUnlock(hvaStart, hvaEnd);
  kvm.hostPageWait.wakeAll();
}

/**
 * Reclaim that ages first (shrink_folio_list): it locks the folio
 * (folio_trylock: a folio another host operation holds locked is passed by,
 * kept for a later scan), then folio_referenced asks the secondary MMUs through
 * clear_flush_young whether the page was referenced, clearing their Accessed
 * bits; a young page is kept (folio_check_references' activate or keep,
 * simplified: the folio is unlocked and nothing else happens), an old one is
 * reclaimed as hostInvalidate does, the folio still locked; a range with no
 * page mapped is passed by. The range is aged as one folio: one young page keeps
 * it all. The host's own PTE young bits are not modelled (only the guest touches
 * its memory, through KVM's SPTEs). The folio lock orders the aging with
 * migration and KSM of the same page (they lock it before invalidating), not
 * with NUMA balancing's change_prot_numa, which locks no folio.
 * @kernel mm/vmscan.c shrink_folio_list, mm/rmap.c folio_referenced
 */
export function* hostReclaimAged(kvm: Kvm, hvaStart: number, hvaEnd: number, holdNs: number): Task {
  // Race: a fault's get_user_pages faulting a page of the range back in, another
  // host operation locking the folio or changing its PTEs. Reclaim scans the LRU,
  // which holds only pages in use: a range the host maps no page of (reclaimed
  // before, not faulted in since) has no folio to age or reclaim, and is passed
  // by. folio_trylock is made in the same step.
  yield opPair(WRITE, kvm.objHostPageLocks, READ, kvm.objHostPages);
  let mapped = false;
  for (let hva = hvaStart; hva < hvaEnd && !mapped; hva++) mapped = kvm.host.lookup(hva) >= 0;
  if (!mapped) return;
  if (!kvm.host.folioTrylock(hvaStart, hvaEnd)) {
    kvm.emit({
      e: 'note',
      text: `reclaim: folio_trylock [${hvaText(hvaStart)},${hvaText(hvaEnd)}) fails (another host operation holds the folio): kept, not aged`,
    });
    return;
  }
  const young = yield* kvmMmuNotifierClearFlushYoung(kvm, hvaStart, hvaEnd);
  kvm.emit({ e: 'folioReferenced', hvaStart, hvaEnd, young });
  if (!young) {
    yield* hostInvalidate(kvm, hvaStart, hvaEnd, 'reclaim', holdNs, true);
    return;
  }
  // Race: a migration or KSM waiting in folio_lock for this folio, another
  // reclaim's folio_trylock.
  yield opWrite(kvm.objHostPageLocks);
  kvm.host.folioUnlock(hvaStart, hvaEnd);
  kvm.hostPageWait.wakeAll();
}
