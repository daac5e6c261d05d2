/**
 * The SPTE values the ftrace log prints, as the kernel's SPTEs hold them for
 * the leaves the model makes: one place for the shadow MMU's (legacy paging
 * format) and the TDP MMU's (EPT format). The bits follow Linux v6.10 and
 * later on x86-64 (docs/ftrace-sptes.md, which says which bits are left out
 * and why). Values past 2^53 are built as BigInt.
 */

/**
 * Bits of a shadow SPTE, a guest-format (legacy paging) PTE, with the masks KVM
 * uses when EPT/NPT is off (kvm_mmu_reset_all_pte_masks, spte.h): the
 * hardware's P, R/W, U/S, A and D, and three bits the hardware ignores:
 * host-writable (9), MMU-writable (10) and MMU-present (11, on every present SPTE).
 */
const PT_PRESENT = 0x1;
const PT_WRITABLE = 0x2;
const PT_USER = 0x4;
const PT_ACCESSED = 0x20;
const PT_DIRTY = 0x40;
const SPTE_HOST_WRITABLE = 0x200;
const SPTE_MMU_WRITABLE = 0x400;
const SPTE_MMU_PRESENT = 0x800;

/**
 * A shadow leaf SPTE for a pfn as make_spte builds it for a guest fault (not a
 * prefetch) on a page the host maps writable: MMU-present, present, accessed,
 * host-writable; U as the guest PTE it shadows has it (`user`); executable (no
 * NX: the model has none); and, when the leaf is writable (not a
 * write-protected guest table), W, MMU-writable and dirty. The model's guest
 * PTEs are all writable and dirty, so a read fault maps a writable leaf too. A
 * leaf write-protected since (mmu_sync_children, account_shadowed) keeps its D
 * bit in the kernel; the model does not keep it, and prints it as made
 * read-only. 0 for no leaf (pfn < 0).
 */
export function shadowSpte(pfn: number, user: boolean, writable: boolean): number {
  if (pfn < 0) return 0;
  const w = writable ? PT_WRITABLE + SPTE_MMU_WRITABLE + PT_DIRTY : 0;
  return pfn * 4096 + SPTE_MMU_PRESENT + SPTE_HOST_WRITABLE + PT_ACCESSED + PT_PRESENT + w + (user ? PT_USER : 0);
}

/**
 * kvm_mmu_set_spte's access letters, as its TP_printk prints them (mmutrace.h):
 * r (present), w (PT_WRITABLE_MASK), x (executable: the model sets no NX), u
 * (shadow_user_mask), '-' for each one missing.
 */
export function spteAccess(spte: number): string {
  const has = (bit: number) => Math.floor(spte / bit) % 2 === 1;
  return `${has(PT_PRESENT) ? 'r' : '-'}${has(PT_WRITABLE) ? 'w' : '-'}x${has(PT_USER) ? 'u' : '-'}`;
}

/** EPT bits (VMX_EPT_*_MASK): read, write, execute, and A and D when EPT A/D bits are on. */
const EPT_READ = 0x1n;
const EPT_WRITE = 0x2n;
const EPT_EXEC = 0x4n;
const EPT_ACCESSED = 0x100n;
const EPT_DIRTY = 0x200n;
/** Memory type WB (6) in bits 5:3 and ignore-PAT (bit 6): vmx_get_mt_mask for RAM of a VM with no non-coherent DMA. */
const EPT_MT_WB_IPAT = (6n << 3n) | 0x40n;
/** SPTE_MMU_PRESENT_MASK: bit 11, on every shadow-present SPTE (the hardware ignores it). */
const MMU_PRESENT = 0x800n;
/** SPTE_TDP_AD_DISABLED (bits 53:52 = 1): a leaf of an MMU without A/D bits; A/D enabled is 0 there. */
const AD_DISABLED = 1n << 52n;
/** EPT_SPTE_HOST_WRITABLE and EPT_SPTE_MMU_WRITABLE: bits 57 and 58 under EPT (9 and 10 are taken there). */
const EPT_HOST_WRITABLE = 1n << 57n;
const EPT_MMU_WRITABLE = 1n << 58n;
/** Where mark_spte_for_access_track saves R and X (SHADOW_ACC_TRACK_SAVED_BITS_SHIFT). */
const ACC_TRACK_SAVED_SHIFT = 54n;
/**
 * SHADOW_NONPRESENT_VALUE on x86-64 since v6.10 (docs/ftrace-sptes.md says how
 * sure): bit 63 (EPT's suppress-#VE), what a zapped or never-made SPTE holds (0 before).
 */
const NONPRESENT = 1n << 63n;

/**
 * The TDP MMU's SPTEs of a world, with or without EPT A/D bits (eptAdBits), as
 * the ftrace log prints them: hex without 0x, as kvm_tdp_mmu_spte_changed's
 * %llx. Every leaf the model makes is made writable by a fault (make_spte with
 * ACC_ALL, the host mapping writable); dirty logging's write protection clears
 * W alone, keeping MMU-writable (fast_page_fault's way back) and D.
 */
export class EptSptes {
  constructor(private readonly adBits: boolean) {}

  /**
   * A present leaf for `pfn` (or SHADOW_NONPRESENT_VALUE for none, pfn < 0):
   * R, X, W unless write-protected, WB and ignore-PAT, MMU-present,
   * host-writable and MMU-writable; with A/D bits, D and A (`accessed`: false
   * where aging has just cleared it), without them the A/D-disabled type.
   */
  leaf(pfn: number, writable = true, accessed = true): string {
    if (pfn < 0) return NONPRESENT.toString(16);
    let v = BigInt(pfn) * 4096n + this.common() + EPT_READ + EPT_EXEC + (writable ? EPT_WRITE : 0n);
    if (this.adBits) v += EPT_DIRTY + (accessed ? EPT_ACCESSED : 0n);
    return v.toString(16);
  }

  /**
   * An access-tracked leaf (mark_spte_for_access_track, no A/D bits): RWX
   * clear, R and X saved at bit 54, the rest kept (the pfn, MMU-present, the
   * memory type, the writable bits).
   */
  tracked(pfn: number): string {
    if (pfn < 0) return NONPRESENT.toString(16);
    return (BigInt(pfn) * 4096n + this.common() + ((EPT_READ | EPT_EXEC) << ACC_TRACK_SAVED_SHIFT)).toString(16);
  }

  /** SHADOW_NONPRESENT_VALUE: no leaf, or a leaf zapped. */
  none(): string {
    return NONPRESENT.toString(16);
  }

  /** The bits every leaf of the world holds, present or access-tracked. */
  private common(): bigint {
    return MMU_PRESENT + EPT_MT_WB_IPAT + EPT_HOST_WRITABLE + EPT_MMU_WRITABLE + (this.adBits ? 0n : AD_DISABLED);
  }
}
