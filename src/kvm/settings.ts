import { MMIO_SPTE_GEN_BITS } from './mmio-spte.js';
import { BATCH_ZAP_PAGES } from './shadow-page.js';

/**
 * The protocol variants and kernel configuration a run can choose, each with its
 * values, default and meaning. `mmulab list` prints this table.
 */
export interface SettingSpec {
  key: keyof Settings;
  /** The values it takes, the default first (none listed for an integer setting: see `range`; with a range, the words it takes besides integers). */
  values: readonly (string | boolean)[];
  /** An integer setting: the least and the greatest value it takes. */
  range?: { min: number; max: number };
  default: string | boolean | number;
  description: string;
  /** Read under this MMU only; under the other the model does `instead`, whatever the value. */
  readUnder?: { mmu: Settings['mmu']; instead: string };
}

export interface Settings {
  /** Which MMU backs guest memory. */
  mmu: 'tdp' | 'shadow';
  /** Lockless pre-check of an in-progress invalidation in the fault path (thread 001). */
  faultPrecheck: 'off' | 'lockless';
  /** A preemptible kernel: mmu_lock holders yield when the lock is contended (rwlock_needbreak). */
  preemptible: boolean;
  /** How a vCPU reloads the APIC-access page address (thread 004). */
  apicAccessPage: 'invalidate-range' | 'retry';
  /** How a memslot delete/move flushes shadow pages (threads 000, 002). */
  memslotFlush: 'zap-all-fast' | 'zap-all-lockbreak' | 'zap-slot' | 'zap-slot-rmap-only';
  /** What vCPUs do when a root in use is zapped (thread 003). */
  rootZap: 'free-obsolete' | 'reload-all';
  /**
   * Pages kvm_zap_obsolete_pages zaps before it may drop mmu_lock: the kernel's
   * BATCH_ZAP_PAGES. Check minis, which have fewer shadow pages than that, set it
   * low to reach the fast zap's lock break.
   */
  zapBatchPages: number;
  /**
   * enable_mmio_caching: a fault on a gfn in no memslot installs an MMIO SPTE
   * stamped with the memslots generation, and later accesses take the MMIO fast
   * path (handle_mmio_page_fault); false: every such access is emulated at once.
   */
  mmioCaching: boolean;
  /**
   * Bits of the memslots generation an MMIO SPTE keeps (MMIO_SPTE_GEN_MASK's 19
   * in the kernel). Check minis set it low, so that a few memslot swaps wrap it.
   */
  mmioGenBits: number;
  /**
   * What a shadow-page sync does with an MMIO SPTE whose guest PTE still maps
   * its gfn: `restamp` (the kernel's sync_mmio_spte → mark_mmio_spte) stamps it
   * with the current memslots generation without a memslot lookup; `zap` (a
   * candidate fix) drops it, so the next access takes the full fault.
   */
  syncMmioSpte: 'restamp' | 'zap';
  /**
   * n_max_mmu_pages, the shadow pages KVM keeps before it reclaims the oldest
   * (make_mmu_pages_available): `auto` is the kernel's default when the VMM
   * never calls KVM_SET_NR_MMU_PAGES (1/50 of the memslots' pages, at least
   * 64); a number is what KVM_SET_NR_MMU_PAGES would set. Check minis set it
   * low so that a fault reclaims.
   */
  maxMmuPages: 'auto' | number;
  /**
   * fast_page_fault: a write fault on a present leaf (here, one dirty logging
   * write-protected) is fixed without mmu_lock by a cmpxchg of the SPTE (`on`,
   * the kernel's); `off` sends it down the slow path (pfn lookup, mmu_lock,
   * is_page_fault_stale, map).
   */
  fastPageFault: 'on' | 'off';
  /**
   * How kvm_age_gfn ages the leaves for the aging notifiers, under either MMU
   * (it governed the TDP MMU alone as `tdpMmuAging`): `lockless` (v6.15 on,
   * CONFIG_KVM_MMU_LOCKLESS_AGING) takes no mmu_lock — the TDP MMU walks the valid
   * roots under RCU and clears the Accessed bit with an atomic AND
   * (tdp_mmu_clear_spte_bits_atomic), the shadow MMU walks each gfn's rmap under
   * the rmap's own lock (kvm_rmap_lock_readonly) and clears it with clear_bit;
   * `mmu-lock` (before v6.15) __kvm_handle_hva_range takes mmu_lock for write
   * around the walk.
   */
  mmuAging: 'lockless' | 'mmu-lock';
  /**
   * enable_ept_ad_bits (kvm_intel.eptad): whether EPT leaves have Accessed and
   * Dirty bits (`on`, the kernel's default where the CPU has them). `off`:
   * kvm_ad_enabled is false, and aging cannot clear an A bit: kvm_age_gfn marks
   * a young leaf for access tracking instead (mark_spte_for_access_track: R and
   * X saved in high bits, RWX cleared, the pfn kept), which the hardware sees as
   * not present; every fault on a leaf not present goes to fast_page_fault
   * first, which restores an access-tracked leaf with its cmpxchg
   * (restore_acc_track_spte). TDP only: shadow paging always has A/D bits.
   */
  eptAdBits: 'on' | 'off';
}

/** The greatest zapBatchPages: any count above a world's shadow pages means no lock break. */
export const ZAP_BATCH_PAGES_MAX = 1_000_000;

/** The greatest maxMmuPages: far above any world's shadow pages (the kernel takes an unsigned long). */
export const MAX_MMU_PAGES_MAX = 1_000_000;

/** The values an integer setting takes, as `mmulab list` and errors write them (`words`: what it takes besides integers). */
export function rangeText(range: { min: number; max: number }, words: readonly (string | boolean)[] = []): string {
  const ints = `an integer from ${range.min} to ${range.max}`;
  return words.length === 0 ? ints : `${words.join(', ')} or ${ints}`;
}

export const SETTINGS: readonly SettingSpec[] = [
  { key: 'mmu', values: ['tdp', 'shadow'], default: 'tdp', description: 'MMU backing guest memory: TDP (EPT) or shadow paging' },
  {
    key: 'faultPrecheck',
    values: ['lockless', 'off'],
    default: 'lockless',
    description: 'fault path pre-checks an in-progress invalidation without mmu_lock (thread 001)',
  },
  {
    key: 'preemptible',
    values: [true, false],
    default: true,
    description: 'preemptible kernel: mmu_lock holders yield on contention (rwlock_needbreak)',
  },
  {
    key: 'apicAccessPage',
    values: ['retry', 'invalidate-range'],
    default: 'retry',
    description: 'APIC-access page reload: retry while invalidation in progress (thread 004) or reload from invalidate_range',
  },
  {
    key: 'memslotFlush',
    values: ['zap-all-fast', 'zap-all-lockbreak', 'zap-slot', 'zap-slot-rmap-only'],
    default: 'zap-all-fast',
    description: 'memslot delete/move flush: fast zap by generation, lock-break zap-all, or slot-only zaps',
    readUnder: { mmu: 'shadow', instead: 'the TDP MMU always zaps by generation, kvm_mmu_zap_all_fast' },
  },
  {
    key: 'rootZap',
    values: ['free-obsolete', 'reload-all'],
    default: 'free-obsolete',
    description: 'on zapping an in-use root: free only obsolete roots (thread 003) or reload all roots',
  },
  {
    key: 'zapBatchPages',
    values: [],
    range: { min: 1, max: ZAP_BATCH_PAGES_MAX },
    default: BATCH_ZAP_PAGES,
    description: 'pages the fast zap zaps before it may drop mmu_lock (kernel: BATCH_ZAP_PAGES, 10; lower reaches its lock break in small worlds)',
    readUnder: { mmu: 'shadow', instead: 'the TDP MMU zaps invalidated roots after the fast zap, yielding by its own rule' },
  },
  {
    key: 'mmioCaching',
    values: [true, false],
    default: true,
    description: 'enable_mmio_caching: a fault on a gfn in no memslot installs an MMIO SPTE with the memslots generation (false: emulate at once)',
  },
  {
    key: 'mmioGenBits',
    values: [],
    range: { min: 1, max: MMIO_SPTE_GEN_BITS },
    default: MMIO_SPTE_GEN_BITS,
    description: `memslots generation bits an MMIO SPTE keeps (kernel: ${MMIO_SPTE_GEN_BITS}, MMIO_SPTE_GEN_MASK; lower wraps it in a few memslot swaps)`,
  },
  {
    key: 'syncMmioSpte',
    values: ['restamp', 'zap'],
    default: 'restamp',
    description:
      "a shadow-page sync meeting an MMIO SPTE whose guest PTE still maps its gfn: re-stamp it with the current memslots generation (the kernel's sync_mmio_spte) or drop it (a candidate fix: the next access takes the full fault)",
    readUnder: { mmu: 'shadow', instead: 'the TDP MMU shadows no guest tables: nothing is synced' },
  },
  {
    key: 'maxMmuPages',
    values: ['auto'],
    range: { min: 1, max: MAX_MMU_PAGES_MAX },
    default: 'auto',
    description:
      "n_max_mmu_pages: shadow pages in use before a fault or root load reclaims the oldest (kvm_mmu_zap_oldest_mmu_pages); auto is the kernel's default (1/50 of the memslots' pages, at least 64), a number what KVM_SET_NR_MMU_PAGES sets",
    readUnder: { mmu: 'shadow', instead: 'the TDP MMU has no page limit: its pages are not counted in n_used_mmu_pages' },
  },
  {
    key: 'fastPageFault',
    values: ['on', 'off'],
    default: 'on',
    description:
      'fast_page_fault: a write fault on a present leaf dirty logging write-protected is fixed without mmu_lock, by a cmpxchg of the SPTE then mark_page_dirty_in_slot (off: the slow path, under mmu_lock)',
    readUnder: { mmu: 'tdp', instead: 'FNAME(page_fault) has no fast path: fast_page_fault serves direct MMUs only' },
  },
  {
    key: 'mmuAging',
    values: ['lockless', 'mmu-lock'],
    default: 'lockless',
    description:
      "kvm_age_gfn (reclaim with age: true), both MMUs: lockless (v6.15 on, CONFIG_KVM_MMU_LOCKLESS_AGING) takes no mmu_lock: the TDP MMU walks the valid roots under RCU and clears the Accessed bit with an atomic AND, the shadow MMU walks each gfn's rmap under that rmap's lock and clears it with clear_bit; mmu-lock (before) holds mmu_lock for write around the walk",
  },
  {
    key: 'eptAdBits',
    values: ['on', 'off'],
    default: 'on',
    description:
      "enable_ept_ad_bits (kvm_intel.eptad): on, EPT leaves have an Accessed bit, which aging clears; off, aging marks a young leaf for access tracking instead (mark_spte_for_access_track: not present to the hardware, the pfn kept; lockless, a cmpxchg that is not retried), the guest's next access to it faults, and fast_page_fault, which then takes every fault on a leaf not present, restores it with its cmpxchg (restore_acc_track_spte; writable too for a write)",
    readUnder: { mmu: 'tdp', instead: 'shadow paging (EPT off) always has A/D bits' },
  },
];

/**
 * EPT without A/D bits (eptAdBits=off under TDP; shadow paging always has them):
 * kvm_ad_enabled is false, and aging marks leaves for access tracking.
 */
export function eptAccessTracking(s: Pick<Settings, 'mmu' | 'eptAdBits'>): boolean {
  return s.mmu === 'tdp' && s.eptAdBits === 'off';
}

export function defaultSettings(): Settings {
  const s: Record<string, unknown> = {};
  for (const spec of SETTINGS) s[spec.key] = spec.default;
  return s as unknown as Settings;
}
