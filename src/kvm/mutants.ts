import type { Scenario } from '../scenario/schema.js';
import type { Settings } from './settings.js';

/**
 * Named deviations from the kernel's protocol. Each makes one check or step go
 * missing, so that the oracle and the checker can be shown to catch it.
 */

/**
 * What a mutant needs to act, where it is known (MutantSpec.needs): `settings`,
 * those its code runs under (mmu=tdp: a path only the TDP MMU has; {} when
 * none matters), compared in place of every setting of its scenario; `world`,
 * the feature of a scenario's world it departs in, with which it may act on
 * any scenario (a copy of its own with another `protect`, say): `has` tests a
 * scenario, `what` names the feature.
 */
export interface MutantNeeds {
  settings: Partial<Settings>;
  world: { what: string; has: (s: Scenario) => boolean };
}

/** Dirty logging under manual protect (KVM_CLEAR_DIRTY_LOG), either flavour. */
const MANUAL_PROTECT: MutantNeeds['world'] = {
  what: 'a dirty log under manual protect (host.dirtyLog.protect manual or manual-initially-set)',
  has: (s) => s.host.dirtyLog?.protect === 'manual' || s.host.dirtyLog?.protect === 'manual-initially-set',
};

/** Any dirty logging (host.dirtyLog): the bitmap's or the rings'. */
const DIRTY_LOG: MutantNeeds['world'] = {
  what: 'a dirty log (host.dirtyLog)',
  has: (s) => s.host.dirtyLog !== undefined,
};

/** A dirty log whose enabling write-protects the slot's leaves: any but manual-initially-set's (which sets every bit instead). */
const ENABLE_PROTECTS: MutantNeeds['world'] = {
  what: 'a dirty log whose enabling write-protects the slot (host.dirtyLog, not protect manual-initially-set)',
  has: (s) => s.host.dirtyLog !== undefined && s.host.dirtyLog.protect !== 'manual-initially-set',
};

/** The bitmap harvested by KVM_GET_DIRTY_LOG, which write-protects what it takes (protect get, no ring). */
const GET_PROTECTS: MutantNeeds['world'] = {
  what: 'a dirty bitmap KVM_GET_DIRTY_LOG write-protects (host.dirtyLog, protect get, not mode ring)',
  has: (s) => s.host.dirtyLog !== undefined && s.host.dirtyLog.mode !== 'ring' && (s.host.dirtyLog.protect ?? 'get') === 'get',
};

/** Dirty logging to per-vCPU dirty rings (host.dirtyLog.mode ring). */
const DIRTY_RING: MutantNeeds['world'] = {
  what: 'a dirty log with dirty rings (host.dirtyLog.mode ring)',
  has: (s) => s.host.dirtyLog?.mode === 'ring',
};

export interface MutantSpec {
  name: string;
  description: string;
  /** The small built-in check scenario that exposes it. */
  scenario: string;
  /**
   * What the step log prints where the mutant acts (a mutantActed event), for a
   * mutant that acts by leaving something out and so leaves no line of its own.
   * Absent for a mutant whose own event says it acted ("not stale (the mutant
   * skipped what says stale)"). Either way a counterexample shows where it acted.
   * A mutant whose act calls Mutation.tookEffect(said) needs it too: the
   * mutantActed line, which prints `said` in its place, is emitted only for a
   * mutant that has `shown` (Kvm.subscribe sets Mutation.onAct for no other).
   */
  shown?: string;
  /**
   * What it needs to act, when known: then the note of a run elsewhere
   * (cli/mutant-note.ts) compares these settings alone and takes any world
   * with the feature; absent, every setting of `scenario` and its name.
   */
  needs?: MutantNeeds;
}

export const MUTANTS: readonly MutantSpec[] = [
  {
    name: 'fault-skip-seq-check',
    description: 'is_page_fault_stale ignores a changed mmu_invalidate_seq (an invalidation that completed after the snapshot)',
    scenario: 'fault-vs-invalidation-mini',
  },
  {
    name: 'fault-skip-range-check',
    description: "is_page_fault_stale's mmu_invalidate_retry_gfn ignores an in-progress invalidation covering the gfn",
    scenario: 'fault-vs-invalidation-mini',
  },
  {
    name: 'invalidate-skip-tlb-flush',
    description: 'invalidate_range_start zaps SPTEs but returns without kvm_flush_remote_tlbs',
    scenario: 'fault-vs-invalidation-mini',
    shown: 'SPTEs zapped, no kvm_flush_remote_tlbs (the mutant skipped it)',
  },
  {
    name: 'precheck-plain-read',
    description:
      'the lockless pre-check reads mmu_invalidate_in_progress once and keeps it (no READ_ONCE): the vCPU spins forever (the extreme case: one value kept across every retry, where a compiler could keep it only within one function)',
    scenario: 'fault-vs-invalidation-mini',
  },
  {
    name: 'fault-seq-resnapshot-after-gup',
    description:
      'kvm_faultin_pfn takes mmu_invalidate_seq again after the pfn lookup (a patch to spare a retry when an invalidation ended during get_user_pages): an invalidation that began and ended while the fault held the old pfn leaves the new snapshot current, and is_page_fault_stale lets the fault install the pfn the host freed',
    scenario: 'fault-vs-invalidation-mini',
    shown: "snapshot mmu_invalidate_seq taken again after get_user_pages (the mutant's): newer than the pfn",
    // Both MMUs, with or without the lockless pre-check: any world where the host invalidates guest memory.
    needs: {
      settings: {},
      world: { what: 'a host invalidation of guest memory (host.invalidations)', has: (s) => s.host.invalidations.length > 0 },
    },
  },
  {
    name: 'apic-reload-no-retry',
    description: 'the APIC-access page reload writes the pfn without checking for an in-progress invalidation',
    scenario: 'apic-reload-mini',
  },
  {
    name: 'vcpu-enter-ignores-requests',
    description: 'vcpu_enter_guest has no pending-request check just before VM-entry',
    scenario: 'apic-reload-mini',
    shown: 'VM-entry with requests pending, not cancelled (the mutant has no late request check)',
  },
  {
    name: 'zap-fast-no-generation-bump',
    description: 'kvm_mmu_zap_all_fast does not toggle mmu_valid_gen, so nothing becomes obsolete',
    scenario: 'memslot-delete-mini',
    shown: 'mmu_valid_gen not toggled, it stays as it was (the mutant skipped the toggle): no page becomes obsolete',
  },
  {
    name: 'zap-obsolete-walk-from-head',
    description:
      'after a lock break kvm_zap_obsolete_pages restarts from the newest end of active_mmu_pages (as kvm_mmu_zap_all restarts), still stopping at the first page that is not obsolete: the pages vCPUs made in the break stop it, and obsolete pages survive the fast zap, to come back valid at the next toggle',
    scenario: 'memslot-delete-lockbreak-mini',
    shown: "kvm_zap_obsolete_pages goes on from the newest end of active_mmu_pages, not from where it stopped (the mutant's restart)",
  },
  {
    name: 'sync-children-wp-no-flush',
    description:
      "mmu_sync_children write-protects the unsync pages' gfns but leaves the flush for the end of the batch: as the sync reads a table, a vCPU's TLB still maps it writable, so a guest write to it would not trap",
    scenario: 'sync-children-mini',
  },
  {
    name: 'account-shadowed-no-flush',
    description: 'account_shadowed write-protects a gfn that a new shadow page shadows, with no flush: a TLB keeps a writable translation of the guest table',
    scenario: 'table-reuse-mini',
  },
  {
    name: 'zap-root-no-request',
    description: 'zapping an in-use root does not ask the vCPUs to drop it (no KVM_REQ_MMU_FREE_OBSOLETE_ROOTS)',
    scenario: 'root-zap-mini',
    shown: 'no KVM_REQ_MMU_FREE_OBSOLETE_ROOTS for the zapped root in use (the mutant skipped the request)',
  },
  {
    name: 'zap-root-request-before-invalid',
    description:
      "__kvm_mmu_prepare_zap_page makes KVM_REQ_MMU_FREE_OBSOLETE_ROOTS before setting the root's role.invalid (the order thread 003 fixed): a vCPU that services the request in between sees the root valid and keeps it",
    scenario: 'root-zap-shared-mini',
  },
  {
    name: 'sync-children-yield-without-flush',
    description:
      "mmu_sync_children drops mmu_lock (cond_resched_rwlock_write) with the flush for the SPTEs kvm_sync_page dropped still pending, and flushes only at the end: a notifier's kvm_unmap_gfn_range in the lock break finds no SPTE, returns without a flush, and another vCPU's TLB still maps the page the host frees",
    scenario: 'sync-children-mini',
    shown: 'no kvm_flush_remote_tlbs before the lock break for the SPTEs dropped (the mutant leaves the flush for the end)',
  },
  {
    name: 'free-obsolete-roots-tests-current',
    description:
      "kvm_mmu_free_obsolete_roots tests the current root for each previous root (seed 003's first posting): obsolete roots stay cached, and a CR3 switch can reuse one",
    scenario: 'cached-roots-mini',
    shown: "kvm_mmu_free_obsolete_roots judged a previous root by the current root (the mutant's test): an obsolete root kept cached, or a valid one freed",
  },
  {
    name: 'range-add-no-widen',
    description:
      'kvm_mmu_invalidate_range_add keeps the first range of overlapping invalidations instead of widening the hull: a gfn of the second is not seen as in progress',
    scenario: 'concurrent-invalidations-mini',
    shown: "the in-progress range not widened to this invalidation's gfns (the mutant keeps the first range)",
  },
  {
    name: 'tlb-flush-after-entry',
    description: 'KVM_REQ_TLB_FLUSH is serviced after the guest ran, not before VM-entry (and does not cancel the entry): the guest runs on with the stale TLB',
    scenario: 'concurrent-invalidations-mini',
    shown: 'KVM_REQ_TLB_FLUSH pending, the VM-entry goes on (the mutant services it after the guest ran)',
  },
  {
    name: 'request-mode-read-early',
    description:
      'kvm_make_all_cpus_request reads the vCPU mode before its request bit is visible (no smp_mb): a vCPU entering in between is neither kicked nor sees the request',
    scenario: 'apic-reload-mini',
    shown: "a vCPU's mode read before the request bit was set (the mutant has no smp_mb): it entered the guest in between, not kicked, the request unseen",
  },
  {
    name: 'memslot-publish-before-zap',
    description: "a memslot delete or move publishes the final memslots before zapping the old slot's SPTEs: a vCPU reaches a gfn of no memslot",
    scenario: 'memslot-delete-mini',
    shown: "the final memslots published before the old slot's SPTEs are zapped (the mutant's order)",
  },
  {
    name: 'mmio-check-ignores-update-in-progress',
    description:
      'check_mmio_spte ignores KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS and compares the generations alone: while a swap publishes memslots that hold the gfn, an MMIO SPTE of the old generation still matches, and the access is emulated as MMIO',
    scenario: 'mmio-gen-mini',
    shown: 'KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS ignored (the mutant compares the generations alone): they match',
  },
  {
    name: 'memslot-gen-no-update-in-progress',
    description:
      'kvm_swap_active_memslots publishes the new memslots with their final generation at once (before 2014\'s "fix potentially corrupt mmio cache"): a fault that found no memslot in the old set stamps its MMIO SPTE with the new generation, which stays current',
    scenario: 'mmio-gen-mini',
    shown: "the memslots published with their final generation, no KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS (the mutant's)",
  },
  {
    name: 'mmio-gen-wrap-no-zap',
    description:
      'kvm_mmu_invalidate_mmio_sptes does not zap when the MMIO generation wraps to 0: an MMIO SPTE made that many swaps ago matches again, though its gfn has a memslot now',
    scenario: 'mmio-gen-mini',
    shown: 'the MMIO generation wrapped to 0, no kvm_mmu_zap_all_fast (the mutant skipped the zap)',
  },
  {
    name: 'zap-oldest-no-flush',
    description:
      "kvm_mmu_zap_oldest_mmu_pages (make_mmu_pages_available's reclaim) commits its zaps without kvm_flush_remote_tlbs: a vCPU's TLB keeps a leaf of a page it freed, and a host invalidation of that gfn later finds no SPTE (no rmap), flushes nothing, and the host frees the page the TLB still maps",
    scenario: 'mmu-pages-reclaim-mini',
  },
  {
    name: 'invlpg-no-remote-flush',
    description:
      "kvm_mmu_invalidate_addr drops the SPTE the guest's INVLPG syncs (its PTE cleared) and flushes only this vCPU's TLB entry (kvm_x86_flush_tlb_gva), not every vCPU's (no kvm_flush_remote_tlbs_gfn): another vCPU's TLB keeps the page, and a host invalidation of it later finds no SPTE (no rmap), flushes nothing, and the host frees the page that TLB still maps",
    scenario: 'invlpg-mini',
  },
  {
    name: 'dirty-log-no-flush',
    description:
      "KVM_GET_DIRTY_LOG write-protects the gfns it takes from the bitmap but returns it to userspace without kvm_flush_remote_tlbs_memslot: a vCPU's TLB still allows writes to a harvested page, and a write after the VMM's copy of it neither faults nor sets its dirty bit (a lost dirty page)",
    scenario: 'dirty-log-mini',
    // Both MMUs; the bitmap under protect get only: the ring and manual protect write-protect elsewhere.
    needs: { settings: {}, world: GET_PROTECTS },
  },
  {
    name: 'dirty-log-enable-no-flush',
    description:
      "kvm_mmu_slot_apply_flags write-protects the slot's leaves as dirty logging is enabled but the ioctl returns without kvm_flush_remote_tlbs_memslot: a TLB entry filled before still allows writes, and a write after the VMM's first copy of the page is never logged",
    scenario: 'dirty-log-mini',
    // Both MMUs, the bitmap's and the rings' enabling alike.
    needs: { settings: {}, world: ENABLE_PROTECTS },
  },
  {
    name: 'fast-pf-no-mark-dirty',
    description:
      "fast_pf_fix_direct_spte makes the write-protected leaf writable again without mark_page_dirty_in_slot: the guest's write after the VMM's copy of the page is never logged",
    scenario: 'dirty-log-mini',
    shown: 'leaf writable again, no mark_page_dirty_in_slot (the mutant skipped it): the dirty bit stays clear',
    // Only TDP has fast_page_fault; any dirty log, the bitmap's or the rings'.
    needs: { settings: { mmu: 'tdp', fastPageFault: 'on' }, world: DIRTY_LOG },
  },
  {
    name: 'clear-dirty-log-plain-andnot',
    description:
      "kvm_clear_dirty_log_protect clears the word's bits with a plain read and a plain write back instead of atomic_long_fetch_andnot: fast_page_fault's mark_page_dirty_in_slot, which takes no mmu_lock, landing between the two on another gfn of the word is overwritten, and that page's write after its last copy is never logged",
    scenario: 'dirty-log-manual-mini',
    // Only TDP's fast_page_fault marks a page dirty without mmu_lock; under manual-initially-set its first harvest leaves no leaf write-protected for it.
    needs: {
      settings: { mmu: 'tdp', fastPageFault: 'on' },
      world: {
        what: 'a manual-protect dirty log whose clear may race a lockless mark (host.dirtyLog.protect manual, or manual-initially-set with harvests 2 or more: its first harvest leaves no leaf write-protected)',
        has: (s) => s.host.dirtyLog?.protect === 'manual' || (s.host.dirtyLog?.protect === 'manual-initially-set' && s.host.dirtyLog.harvests >= 2),
      },
    },
  },
  {
    name: 'clear-dirty-log-no-flush',
    description:
      "KVM_CLEAR_DIRTY_LOG write-protects the gfns whose bits it cleared but returns without kvm_flush_remote_tlbs_memslot: a vCPU's TLB still allows writes to a cleared page, and a write after the VMM's copy of it neither faults nor sets its dirty bit",
    scenario: 'dirty-log-manual-mini',
    // Both MMUs (README); under manual-initially-set too.
    needs: { settings: {}, world: MANUAL_PROTECT },
  },
  {
    name: 'dirty-ring-reset-no-flush',
    description:
      "KVM_RESET_DIRTY_RINGS write-protects the gfns of the harvested entries (kvm_reset_dirty_gfn) but returns without kvm_flush_remote_tlbs: a vCPU's TLB still allows writes to a collected page, and a write after the VMM's copy of it neither faults nor is pushed to a dirty ring",
    scenario: 'dirty-ring-mini',
    needs: { settings: {}, world: DIRTY_RING },
  },
  {
    name: 'dirty-ring-copy-before-reset',
    description:
      "the VMM copies the pages it collected from the dirty rings before it calls KVM_RESET_DIRTY_RINGS: a guest write through the still writable leaf between the copy and the reset's write protection is in no copy, and no ring holds it (the page was pushed once, and stays writable until the reset)",
    scenario: 'dirty-ring-mini',
    shown: "the VMM copies the pages it collected before KVM_RESET_DIRTY_RINGS (the mutant's order)",
    needs: { settings: {}, world: DIRTY_RING },
  },
  {
    name: 'dirty-ring-no-soft-full-exit',
    description:
      "kvm_dirty_ring_check_request clears KVM_REQ_DIRTY_RING_SOFT_FULL and lets the vCPU enter with its ring soft full: its pushes fill the reserve and then overwrite the oldest entry, one userspace has not collected, and that page's write after its last copy is reported by no ring",
    scenario: 'dirty-ring-mini',
    shown: "kvm_dirty_ring_check_request: the ring is soft full, but the vCPU enters the guest (the mutant's: no KVM_EXIT_DIRTY_RING_FULL)",
    needs: { settings: {}, world: DIRTY_RING },
  },
  {
    name: 'dirty-log-copy-before-clear',
    description:
      'the VMM, under manual protect, copies the pages KVM_GET_DIRTY_LOG reported before it calls KVM_CLEAR_DIRTY_LOG for them: a guest write through the still writable leaf between the copy and the clear has its dirty bit cleared by the clear and is in no copy',
    scenario: 'dirty-log-manual-mini',
    shown: "the VMM copies the pages KVM_GET_DIRTY_LOG reported before KVM_CLEAR_DIRTY_LOG (the mutant's order)",
    needs: { settings: {}, world: MANUAL_PROTECT },
  },
  {
    name: 'fast-pf-plain-write',
    description:
      'fast_pf_fix_direct_spte stores the writable SPTE with a plain write instead of a cmpxchg against the value it read: an mmu_notifier invalidation (the host migrating the page) that zapped the leaf in between is undone, and the leaf maps the old pfn the host has freed',
    scenario: 'fast-pf-mini',
  },
  {
    name: 'age-plain-clear',
    description:
      "kvm_age_gfn's lockless walk (mmuAging=lockless) clears the Accessed bit with a plain store of the value it read less the bit, not an atomic AND: a notifier's zap (NUMA balancing's change_prot_numa, which takes no folio lock, so it may run inside reclaim's aging) between the read and the store is undone, and the leaf maps the page again after invalidate_range_start returned",
    scenario: 'age-vs-numa-mini',
  },
  {
    name: 'age-mark-plain-store',
    description:
      "kvm_age_gfn's lockless walk without EPT A/D bits (eptAdBits=off, mmuAging=lockless) stores mark_spte_for_access_track's value with a plain store of the leaf it read, not a cmpxchg: a notifier's zap (NUMA balancing's change_prot_numa) between the read and the store is undone by an access-tracked leaf still holding the old pfn, shadow-present though not present to the hardware, which fast_page_fault restores at the guest's next access",
    scenario: 'age-access-track-mini',
    // Only the lockless TDP walk without A/D bits marks leaves in a step after its read; any world whose reclaim ages.
    needs: {
      settings: { mmu: 'tdp', eptAdBits: 'off', mmuAging: 'lockless' },
      world: {
        what: 'reclaim that ages pages (host.invalidations[] with age: true)',
        has: (s) => s.host.invalidations.some((i) => i.age === true),
      },
    },
  },
];

export type MutantName = (typeof MUTANTS)[number]['name'];

/**
 * MutantSpec.shown by name, looked up once per instance: the checker builds one
 * per execution, and a search along MUTANTS took 0.4 µs of the 3.3 building one took.
 */
const SHOWN: ReadonlyMap<string, string | undefined> = new Map(MUTANTS.map((m) => [m.name, m.shown]));

/** The active mutant as flags the model tests, all false for the kernel's protocol. */
export class Mutation {
  /** What the fault path's mutants leave out of its mmu_invalidate_retry_gfn. */
  readonly faultRetrySkips: { readonly range: boolean; readonly seq: boolean };
  /**
   * Times the mutant made the model do what the kernel would not have done
   * there: a flush skipped, a stale answer taken, a request ignored. Zero
   * after a run means its results are the kernel protocol's.
   */
  acted = 0;
  /** MutantSpec.shown of the mutant, if it has one. */
  readonly shown: string | undefined;
  /**
   * Called each time the mutant acts: set by the Kvm (to emit mutantActed) only
   * when the mutant has `shown` and a sink reads that event, else null. `said`:
   * what this act did, in place of `shown`, where the mutant can do either of
   * two things (built only when called).
   */
  onAct: ((said?: () => string) => void) | null = null;
  constructor(readonly name: string | null) {
    this.faultRetrySkips = { range: name === 'fault-skip-range-check', seq: name === 'fault-skip-seq-check' };
    this.shown = name === null ? undefined : SHOWN.get(name);
  }
  /** Whether `name` is the mutant; a place where it may or may not change the outcome (then tookEffect says when it does). */
  has(name: string): boolean {
    return this.name === name;
  }
  /** Whether `name` is the mutant, at a place where being it changes what the model does: counted as acting. */
  acts(name: string): boolean {
    if (this.name !== name) return false;
    this.tookEffect();
    return true;
  }
  /** The mutant, tested with has(), changed the outcome; `said`, what it did this time (onAct). */
  tookEffect(said?: () => string): void {
    this.acted++;
    this.onAct?.(said);
  }
}
