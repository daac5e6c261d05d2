import type { Memslot } from './memslots.js';
import { pagesPerEntry } from './shadow-page.js';

/** Huge-page levels that have an lpage_info array: 2 MiB and 1 GiB. */
export const HUGE_LEVELS = [2, 3] as const;

/** Identifies one memslot's arch data: the slot id and where it sits (a move gives fresh data). */
export function slotArchKey(slot: Memslot): number {
  return slot.id * 2 ** 33 + slot.baseGfn;
}

/**
 * The per-memslot arch data the shadow MMU counts in (slot->arch): for each huge
 * level the large-page disallow counts (lpage_info[].disallow_lpage), and the
 * write-track count of each gfn (gfn_write_track). Counts are kept sparse.
 * @kernel arch/x86/kvm/x86.c kvm_alloc_memslot_metadata; mmu.c update_gfn_disallow_lpage_count; page_track.c
 */
export class SlotArch {
  /** slotArchKey of the slot. */
  readonly key: number;
  readonly slotId: number;
  readonly baseGfn: number;
  readonly npages: number;
  /** disallow_lpage by huge frame, per huge level (index 0: 2 MiB, 1: 1 GiB); absent means 0. */
  readonly disallowLpage: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  /** gfn_write_track: shadow pages write-protecting each gfn; absent means 0. */
  readonly writeTrack = new Map<number, number>();

  constructor(slot: Memslot) {
    this.key = slotArchKey(slot);
    this.slotId = slot.id;
    this.baseGfn = slot.baseGfn;
    this.npages = slot.npages;
    for (const [k, level] of HUGE_LEVELS.entries()) {
      for (const [frame, n] of initialDisallow(this.baseGfn, this.npages, level)) this.disallowLpage[k]!.set(frame, n);
    }
  }

  /** update_gfn_disallow_lpage_count: adjust every huge level's count for the frame holding gfn. */
  updateDisallowLpage(gfn: number, delta: number): void {
    for (const [k, level] of HUGE_LEVELS.entries()) bump(this.disallowLpage[k]!, Math.floor(gfn / pagesPerEntry(level)), delta);
  }

  /** __kvm_write_track_add_gfn / _remove_gfn. */
  updateWriteTrack(gfn: number, delta: number): void {
    bump(this.writeTrack, gfn, delta);
  }

  isWriteTracked(gfn: number): boolean {
    return (this.writeTrack.get(gfn) ?? 0) > 0;
  }
}

function bump(m: Map<number, number>, k: number, delta: number): void {
  const n = (m.get(k) ?? 0) + delta;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

/**
 * The counts a fresh slot starts with: 1 for a huge frame the slot covers only
 * partly at its head or its tail (no huge mapping may cross the slot's edge).
 */
export function initialDisallow(baseGfn: number, npages: number, level: number): Map<number, number> {
  const size = pagesPerEntry(level);
  const out = new Map<number, number>();
  const first = Math.floor(baseGfn / size);
  const last = Math.floor((baseGfn + npages - 1) / size);
  if (baseGfn % size !== 0) out.set(first, 1);
  if ((baseGfn + npages) % size !== 0) out.set(last, 1);
  return out;
}
