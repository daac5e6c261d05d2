/**
 * The protocol variants and kernel configuration a run can choose, each with its
 * values, default and meaning. `mmulab list` prints this table.
 */
export interface SettingSpec {
  key: keyof Settings;
  values: readonly (string | boolean)[];
  default: string | boolean;
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
];

export function defaultSettings(): Settings {
  const s: Record<string, unknown> = {};
  for (const spec of SETTINGS) s[spec.key] = spec.default;
  return s as unknown as Settings;
}
