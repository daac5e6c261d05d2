/** KVM_MEMSLOT_INVALID: the slot is being deleted or moved; faults on it retry. */
export const KVM_MEMSLOT_INVALID = 1 << 16;
/** KVM's internal slot for the APIC-access page. */
export const APIC_ACCESS_PAGE_PRIVATE_MEMSLOT = 0x10000 + 1;
/** APIC_DEFAULT_PHYS_BASE >> PAGE_SHIFT. */
export const APIC_ACCESS_GFN = 0xfee00;

export interface Memslot {
  /** Slot id (userspace slots < 0x10000; internal ones above). */
  readonly id: number;
  readonly baseGfn: number;
  readonly npages: number;
  /** userspace_addr >> 12: the host virtual page backing baseGfn. */
  readonly hvaPage: number;
  /** KVM_MEMSLOT_INVALID and friends. */
  readonly flags: number;
}

/**
 * One published memslot set (struct kvm_memslots): its slots immutable, replaced
 * as a whole on every update, read by vCPUs and notifiers under SRCU. Only its
 * generation changes once published: kvm_swap_active_memslots publishes the set
 * with the old generation and the update-in-progress bit, and stores the final
 * generation once the old set's readers are gone.
 */
export class Memslots {
  constructor(
    readonly slots: readonly Memslot[],
    /**
     * The set's generation without KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS (bit 63 in
     * the kernel, `updateInProgress` here): +1 per swap (one address space).
     */
    public generation: number,
    /** KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS: published, its final generation not yet stored. */
    public updateInProgress = false,
  ) {}

  /** The slot containing `gfn`, or undefined (MMIO). */
  gfnToMemslot(gfn: number): Memslot | undefined {
    for (const s of this.slots) if (gfn >= s.baseGfn && gfn < s.baseGfn + s.npages) return s;
    return undefined;
  }

  byId(id: number): Memslot | undefined {
    for (const s of this.slots) if (s.id === id) return s;
    return undefined;
  }

  /** Slots whose host range overlaps [hvaStart, hvaEnd), with the gfn range it covers in each. */
  overlapping(hvaStart: number, hvaEnd: number): SlotRange[] {
    // An array, not a generator: notifiers and the oracle call this on every invalidation.
    const out: SlotRange[] = [];
    for (const s of this.slots) {
      const lo = Math.max(hvaStart, s.hvaPage);
      const hi = Math.min(hvaEnd, s.hvaPage + s.npages);
      if (lo < hi) out.push({ slot: s, gfnStart: s.baseGfn + (lo - s.hvaPage), gfnEnd: s.baseGfn + (hi - s.hvaPage) });
    }
    return out;
  }

  /** The next set, as kvm_swap_active_memslots publishes it: this generation, with the update in progress. */
  with(slots: readonly Memslot[]): Memslots {
    return new Memslots(slots, this.generation, true);
  }
}

/** The part of a memslot an hva range covers, in gfns [gfnStart, gfnEnd). */
export interface SlotRange {
  slot: Memslot;
  gfnStart: number;
  gfnEnd: number;
}

/** What a lookup found, as the memslotLookup event says it: the slot's id (-1: none) and whether it is being deleted or moved. */
export function slotFound(slot: Memslot | undefined): { slot: number; invalid: boolean } {
  return { slot: slot?.id ?? -1, invalid: slot !== undefined && (slot.flags & KVM_MEMSLOT_INVALID) !== 0 };
}

export function gfnToHva(slot: Memslot, gfn: number): number {
  return slot.hvaPage + (gfn - slot.baseGfn);
}

/** @kernel hva_to_gfn_memslot — the gfn `slot` maps host page `hva` at, or -1 when the slot does not back it. */
export function hvaToGfn(slot: Memslot, hva: number): number {
  return hva >= slot.hvaPage && hva < slot.hvaPage + slot.npages ? slot.baseGfn + (hva - slot.hvaPage) : -1;
}
