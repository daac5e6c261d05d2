import type { Kvm } from './kvm.js';

/** Emulated writes without the page being used in between after which KVM stops shadowing it (detect_write_flooding; ShadowPage.writeFloodingCount). */
export const WRITE_FLOODING_THRESHOLD = 3;

/** Entries per shadow page (4 KiB of 8-byte SPTEs). */
export const SPTES_PER_PAGE = 512;
/** role.level of a root when the guest uses 4-level paging. */
export const ROOT_LEVEL = 4;
/** Pages zapped before kvm_zap_obsolete_pages may drop mmu_lock (BATCH_ZAP_PAGES). */
export const BATCH_ZAP_PAGES = 10;

/** Guest pages one entry covers at `level` (1: a 4 KiB page, 2: 2 MiB, ...). */
export function pagesPerEntry(level: number): number {
  return SPTES_PER_PAGE ** (level - 1);
}

/** Index of the entry that translates guest-virtual page `gva` in a table at `level`. */
export function spteIndex(gva: number, level: number): number {
  return level === 1 ? gva % SPTES_PER_PAGE : Math.floor(gva / pagesPerEntry(level)) % SPTES_PER_PAGE;
}

/** A leaf SPTE's value: the pfn and the writable bit, in one number. */
export function makeLeaf(pfn: number, writable: boolean): number {
  return pfn * 2 + (writable ? 1 : 0);
}
export function leafPfn(leaf: number): number {
  return Math.floor(leaf / 2);
}
export function leafWritable(leaf: number): boolean {
  return leaf % 2 === 1;
}

/** A reference to one SPTE: the page holding it and the index in the page. */
export function spteRef(spId: number, index: number): number {
  return spId * SPTES_PER_PAGE + index;
}
export function refPage(ref: number): number {
  return Math.floor(ref / SPTES_PER_PAGE);
}
export function refIndex(ref: number): number {
  return ref % SPTES_PER_PAGE;
}

/**
 * struct kvm_mmu_page of the shadow MMU: one page of SPTEs shadowing one guest
 * page table (or, for a direct page, mapping guest-physical memory directly).
 * @kernel arch/x86/kvm/mmu/mmu_internal.h struct kvm_mmu_page
 */
export class ShadowPage {
  // role (union kvm_mmu_page_role): compared as a whole for lookups and root reuse
  /** role.level: 4 for a root of 4-level paging, 1 for a page of leaf SPTEs. */
  readonly level: number;
  /** role.direct: maps guest-physical memory rather than shadowing a guest table (never set here: the guest pages). */
  readonly direct: boolean;
  /** role.invalid: zapped while some vCPU still had it as a root; no lookup finds it again. */
  invalid = false;

  /** Index into ShadowMmu.sps; stands for the page's hpa in root slots and logs. */
  readonly id: number;
  /** The gfn of the guest page table this page shadows (indirect) or the first gfn it maps (direct). */
  readonly gfn: number;
  /** mmu_valid_gen when the page was made; once the VM's differs the page is obsolete. */
  readonly mmuValidGen: number;
  /** root_count: vCPU root slots, current and previous, that hold this page. */
  rootCount = 0;
  /** spt: the present SPTEs, index → child page id (level > 1) or a leaf (makeLeaf). */
  readonly sptes = new Map<number, number>();
  /** shadowed_translation: for each leaf SPTE, the gfn it maps (level 1 only). */
  readonly translations: Map<number, number> | null;
  /** parent_ptes: every SPTE that points at this page, as spteRef(parent, index). */
  readonly parentPtes: number[] = [];
  /**
   * unsync: a level-1 page whose guest table the guest may write without a trap
   * (its gfn mapped writable, shadow-unsync.ts); its SPTEs may be stale until it is synced.
   */
  unsync = false;
  /** write_flooding_count: emulated writes to the shadowed table since a fault last used this page. */
  writeFloodingCount = 0;
  /** Key (slotArchKey) of the memslot whose lpage_info and write-track counts include this page; -1: not accounted. */
  accountedSlot = -1;
  /** link in kvm->arch.active_mmu_pages: neighbours towards the head (newer) and the tail (older). */
  newer: ShadowPage | null = null;
  older: ShadowPage | null = null;
  /** The page is on active_mmu_pages (valid pages are; zapped ones never return). */
  onActiveList = false;
  /** kvm_mmu_free_shadow_page ran: any later use is a use after free. */
  freed = false;

  constructor(id: number, gfn: number, level: number, direct: boolean, mmuValidGen: number) {
    this.id = id;
    this.gfn = gfn;
    this.level = level;
    this.direct = direct;
    this.mmuValidGen = mmuValidGen;
    this.translations = level === 1 ? new Map() : null;
  }

  /** The page shadows a guest page table (has guest PTEs): what account_shadowed counts. */
  get hasGptes(): boolean {
    return !this.direct;
  }
}

/**
 * @kernel mmu.c is_obsolete_sp — invalid (zapped while in use), or made in a
 * generation other than the VM's current mmu_valid_gen (a fast zap toggled it).
 */
export function isObsoleteSp(kvm: Kvm, sp: ShadowPage): boolean {
  return sp.invalid || sp.mmuValidGen !== kvm.mmuValidGen;
}

/** The page's role matches a lookup for (level, direct): role.invalid is part of the role word, so invalid pages never match. */
export function roleMatches(sp: ShadowPage, level: number, direct: boolean): boolean {
  return sp.level === level && sp.direct === direct && !sp.invalid;
}
