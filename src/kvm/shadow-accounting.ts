import { ModelBug } from '../runtime/model-bug.js';
import type { Task } from '../runtime/thread.js';
import type { WriteProtectFlush } from './events.js';
import { HUGE_LEVELS, initialDisallow, slotArchKey } from './lpage-info.js';
import type { ShadowMmu } from './shadow-mmu.js';
import { leafWritable, pagesPerEntry, refIndex, refPage, type ShadowPage } from './shadow-page.js';
import { kvmFlushRemoteTlbs } from './vcpu-requests.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** Whether `sp` counts in its gfn's write-track count: a table above level 1 (a level-1 one goes unsync instead). */
function isWriteTracking(sp: ShadowPage): boolean {
  return sp.level > 1;
}

/**
 * @kernel mmu.c account_shadowed — a page that shadows a guest table is counted in
 * its gfn's memslot: no huge mapping may cover it (lpage_info), and existing
 * writable leaves of the gfn are made read-only, with a flush if any was
 * writable. A table above level 1 is also write-tracked: it stays
 * write-protected while shadowed, and a guest write to it is emulated. A level-1
 * table is not: a write to it unsyncs its page instead (shadow-unsync.ts).
 */
export function* accountShadowed(mmu: ShadowMmu, sp: ShadowPage): Task {
  const kvm = mmu.kvm;
  kvm.mmuLock.assertWriteHeld('account_shadowed');
  mmu.indirectShadowPages++;
  const slot = kvm.memslots.gfnToMemslot(sp.gfn);
  if (slot === undefined) throw new ModelBug(`account_shadowed: sp ${sp.id} shadows gfn ${hex(sp.gfn)}, which no memslot holds`);
  const arch = mmu.slotArch(slot);
  sp.accountedSlot = arch.key;
  if (isWriteTracking(sp)) arch.updateWriteTrack(sp.gfn, 1);
  arch.updateDisallowLpage(sp.gfn, 1);
  // A TLB may still hold the writable translation: flush before anyone relies on the protection.
  // The oracle checks that point where a leaf was writable (where there was none, no TLB
  // can hold a writable entry unless a zap went unflushed, which other checks catch): a
  // line for every new shadow page would crowd the counterexamples.
  if (!kvmMmuSlotGfnWriteProtect(mmu, sp.gfn)) return;
  let flush: WriteProtectFlush = 'skipped';
  if (!kvm.mutation.acts('account-shadowed-no-flush')) {
    yield* kvmFlushRemoteTlbs(kvm, 'account_shadowed');
    flush = 'done';
  }
  if (kvm.listens('gfnWriteProtected')) kvm.emit({ e: 'gfnWriteProtected', gfn: sp.gfn, by: 'account_shadowed', flush });
}

/**
 * @kernel mmu.c kvm_mmu_slot_gfn_write_protect — every writable leaf mapping gfn
 * (found through the rmap) is made read-only, so that a guest write to the table
 * traps from now on. Returns whether one was writable: the caller flushes.
 */
export function kvmMmuSlotGfnWriteProtect(mmu: ShadowMmu, gfn: number): boolean {
  let flush = false;
  for (const ref of mmu.rmap.get(gfn)) {
    const holder = mmu.sps[refPage(ref)]!;
    const leaf = holder.sptes.get(refIndex(ref))!;
    if (leafWritable(leaf)) {
      holder.sptes.set(refIndex(ref), leaf - 1);
      flush = true;
    }
  }
  return flush;
}

/**
 * @kernel mmu.c unaccount_shadowed — the reverse, on the memslot the page was
 * accounted in. When that memslot is gone (a flush that left the page behind),
 * the kernel would reach freed memory here; the model notes it, and the oracle
 * has already reported the dangling accounting.
 */
export function unaccountShadowed(mmu: ShadowMmu, sp: ShadowPage): void {
  const kvm = mmu.kvm;
  mmu.indirectShadowPages--;
  const arch = mmu.slotArchByKey(sp.accountedSlot);
  if (arch === undefined) throw new ModelBug(`unaccount_shadowed: sp ${sp.id} was never accounted`);
  if (!mmu.isLiveSlotKey(arch.key)) {
    kvm.emit({
      e: 'note',
      text: `unaccount_shadowed: sp ${sp.id} gfn ${hex(sp.gfn)} is accounted in memslot ${arch.slotId}, which was deleted (use of freed slot metadata)`,
    });
  }
  if (isWriteTracking(sp)) arch.updateWriteTrack(sp.gfn, -1);
  arch.updateDisallowLpage(sp.gfn, -1);
  sp.accountedSlot = -1;
}

/** Full recounts happen at least every (live pages / RECOUNT_SPREAD) checks, so checks cost O(1) amortized. */
const RECOUNT_SPREAD = 1;
/** Below this many pages every check recounts everything. */
const ALWAYS_RECOUNT = 64;
/** Mismatches listed per kind before summarising. */
const MAX_LISTED = 3;

/**
 * The counters the shadow MMU keeps, against a recount from its structures:
 * root_count against the vCPUs' current and previous root slots (every check);
 * n_used_mmu_pages against the active list and the invalid roots still held
 * (every check); indirect_shadow_pages, the write-track and lpage_info counts of
 * every live memslot, and pages accounted in a memslot that no longer exists
 * (amortized, and always after a memslot change).
 */
export function checkShadowAccounting(mmu: ShadowMmu): string[] {
  const out: string[] = [];
  const kvm = mmu.kvm;
  // Cheap first: the references the vCPUs hold against the root counts, summed
  // three ways (count, ids, squared ids); only a mismatch pays for the per-page recount.
  let n0 = 0;
  let n1 = 0;
  let n2 = 0;
  for (const v of kvm.vcpus) {
    const r = v.root.root + 1;
    if (r > 0) {
      n0++;
      n1 += r;
      n2 += r * r;
    }
    for (const info of v.prevRoots) {
      const p = info.root + 1;
      if (p > 0) {
        n0++;
        n1 += p;
        n2 += p * p;
      }
    }
  }
  let invalidRoots = 0;
  for (const sp of mmu.rootSps) {
    if (sp.invalid) invalidRoots++;
    const r = sp.id + 1;
    n0 -= sp.rootCount;
    n1 -= sp.rootCount * r;
    n2 -= sp.rootCount * r * r;
  }
  if (n0 !== 0 || n1 !== 0 || n2 !== 0) out.push(...recountRoots(mmu));
  const used = mmu.active.count + invalidRoots;
  if (mmu.nUsedMmuPages !== used) {
    out.push(`n_used_mmu_pages ${mmu.nUsedMmuPages}, but ${mmu.active.count} page(s) are active and ${invalidRoots} invalid root(s) are still held`);
  }
  if (mmu.recountDue()) out.push(...recountShadowed(mmu));
  return out;
}

/** root_count of every root page against the vCPU root slots that hold it. */
function recountRoots(mmu: ShadowMmu): string[] {
  const out: string[] = [];
  const refs = new Map<number, number>();
  for (const v of mmu.kvm.vcpus) {
    for (const info of [v.root, ...v.prevRoots]) if (info.root >= 0) refs.set(info.root, (refs.get(info.root) ?? 0) + 1);
  }
  for (const sp of mmu.rootSps) {
    const n = refs.get(sp.id) ?? 0;
    if (sp.rootCount !== n) out.push(`root sp ${sp.id} (gfn ${hex(sp.gfn)}): root_count ${sp.rootCount}, but ${n} vCPU root slot(s) hold it`);
  }
  for (const [id, n] of refs) {
    const sp = mmu.sps[id];
    if (sp === undefined || sp.freed) out.push(`a vCPU root slot holds sp ${id}, which was freed`);
    else if (sp.rootCount === 0) out.push(`root sp ${id} (gfn ${hex(sp.gfn)}): root_count 0, but ${n} vCPU root slot(s) hold it`);
  }
  return out;
}

/** indirect_shadow_pages, gfn_write_track (pages above level 1) and lpage_info recounted from the valid pages. */
function recountShadowed(mmu: ShadowMmu): string[] {
  const out: string[] = [];
  const kvm = mmu.kvm;
  const track = new Map<number, Map<number, number>>();
  const disallow = new Map<number, [Map<number, number>, Map<number, number>]>();
  const live = new Map<number, { baseGfn: number; npages: number; id: number }>();
  for (const s of kvm.memslots.slots) live.set(slotArchKey(s), s);
  let indirect = 0;
  const dangling: string[] = [];
  for (let sp = mmu.active.head; sp !== null; sp = sp.older) {
    if (!sp.hasGptes) continue;
    indirect++;
    if (!live.has(sp.accountedSlot)) {
      const arch = mmu.slotArchByKey(sp.accountedSlot);
      dangling.push(
        `sp ${sp.id} (level ${sp.level}, gfn ${hex(sp.gfn)}) is still accounted in memslot ${arch?.slotId ?? '?'}'s lpage_info and write-track counts, but that memslot was deleted`,
      );
      continue;
    }
    let t = track.get(sp.accountedSlot);
    if (t === undefined) {
      t = new Map();
      track.set(sp.accountedSlot, t);
    }
    if (isWriteTracking(sp)) t.set(sp.gfn, (t.get(sp.gfn) ?? 0) + 1);
    let d = disallow.get(sp.accountedSlot);
    if (d === undefined) {
      d = [new Map(), new Map()];
      disallow.set(sp.accountedSlot, d);
    }
    for (const [k, level] of HUGE_LEVELS.entries()) {
      const frame = Math.floor(sp.gfn / pagesPerEntry(level));
      d[k]!.set(frame, (d[k]!.get(frame) ?? 0) + 1);
    }
  }
  if (dangling.length > 0) out.push(...listed(dangling, 'more pages accounted in deleted memslots'));
  if (indirect !== mmu.indirectShadowPages) out.push(`indirect_shadow_pages ${mmu.indirectShadowPages}, but ${indirect} valid page(s) shadow guest tables`);
  for (const [key, s] of live) {
    const arch = mmu.slotArchByKey(key);
    const wantTrack = track.get(key) ?? new Map<number, number>();
    const gotTrack = arch?.writeTrack ?? new Map<number, number>();
    const bad: string[] = [];
    for (const g of new Set([...wantTrack.keys(), ...gotTrack.keys()])) {
      const want = wantTrack.get(g) ?? 0;
      const got = gotTrack.get(g) ?? 0;
      if (want !== got) bad.push(`memslot ${s.id}: gfn ${hex(g)} write-track count ${got}, but ${want} valid page(s) above level 1 shadow it`);
    }
    for (const [k, level] of HUGE_LEVELS.entries()) {
      const want = initialDisallow(s.baseGfn, s.npages, level);
      for (const [f, n] of disallow.get(key)?.[k] ?? []) want.set(f, (want.get(f) ?? 0) + n);
      const got = arch?.disallowLpage[k] ?? initialDisallow(s.baseGfn, s.npages, level);
      for (const f of new Set([...want.keys(), ...got.keys()])) {
        const w = want.get(f) ?? 0;
        const g = got.get(f) ?? 0;
        if (w !== g)
          bad.push(
            `memslot ${s.id}: lpage_info[${level === 2 ? '2M' : '1G'}] of gfn ${hex(f * pagesPerEntry(level))} disallow_lpage ${g}, but a recount gives ${w}`,
          );
      }
    }
    out.push(...listed(bad, `more mismatches in memslot ${s.id}`));
  }
  return out;
}

function listed(items: string[], more: string): string[] {
  if (items.length <= MAX_LISTED) return items;
  return [...items.slice(0, MAX_LISTED), `and ${items.length - MAX_LISTED} ${more}`];
}

/** Whether a full recount is due: small MMUs always, after a memslot change always, else amortized. */
export function recountDueFor(pages: number, calls: number, memslotsChanged: boolean): boolean {
  return pages <= ALWAYS_RECOUNT || memslotsChanged || calls * RECOUNT_SPREAD >= pages;
}
