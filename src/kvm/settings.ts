import { MMIO_SPTE_GEN_BITS } from './mmio-spte.js';
import { BATCH_ZAP_PAGES } from './shadow-page.js';

/**
 * The protocol variants and kernel configuration a run can choose, each with its
 * values, default and meaning. `mmulab list` prints this table.
 */
export interface SettingSpec {
  key: keyof Settings;
  /** The values it takes (none listed for an integer setting: see `range`). */
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
}

/** The greatest zapBatchPages: any count above a world's shadow pages means no lock break. */
export const ZAP_BATCH_PAGES_MAX = 1_000_000;

/** The values an integer setting takes, as `mmulab list` and errors write them. */
export function rangeText(range: { min: number; max: number }): string {
  return `an integer from ${range.min} to ${range.max}`;
}

export const SETTINGS: readonly SettingSpec[] = [
  { key: 'mmu', values: ['tdp', 'shadow'], default: 'tdp', description: 'MMU backing guest memory: TDP (EPT) or shadow paging' },
  {
    key: 'faultPrecheck',
    values: ['off', 'lockless'],
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
    values: ['invalidate-range', 'retry'],
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
];

export function defaultSettings(): Settings {
  const s: Record<string, unknown> = {};
  for (const spec of SETTINGS) s[spec.key] = spec.default;
  return s as unknown as Settings;
}
