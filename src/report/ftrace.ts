import {
  cr3Text,
  describeEvent,
  type EventStamp,
  EXCEPTION_NAMES,
  type KvmEvent,
  RET_PF_NAMES,
  requestList,
  type VmExitReason,
  type ZapAllHow,
} from '../kvm/events.js';
import { USER_TOP } from '../kvm/guest-paging.js';
import { ShadowMmu } from '../kvm/shadow-mmu.js';
import { SPTES_PER_PAGE } from '../kvm/shadow-page.js';
import type { KvmInstance } from '../scenario/instantiate.js';
import { type InstanceSink, threadNames } from './attach.js';
import { EventBudget } from './budget.js';
import { requestLine, rootLine } from './ftrace-roots.js';
import { printable } from './printable.js';
import { EptSptes, shadowSpte, spteAccess } from './spte-value.js';
import { NS_PER_STEP, StepClock } from './step-clock.js';

/**
 * A log shaped like `trace-cmd report -t` output: one line per tracepoint hit,
 * `comm-pid [cpu] secs.nsecs: name: fields`, with the fields printed as the
 * kernel's TP_printk formats print them, for the tracepoints the model has a
 * counterpart of. Events the kernel has no tracepoint for are named mmulab_*.
 * Lines are sorted by time (ties keep the order of the events). In a
 * checker's replay (check, replay) the time is the number of the event in the
 * interleaving as printed, not the threads' own virtual clocks (StepClock).
 */
export class FtraceSink implements InstanceSink {
  private readonly recs: Rec[] = [];
  private names: string[] = [];
  private inst: KvmInstance | null = null;
  private shadow = false;
  /** The TDP MMU's SPTE values, with the world's EPT A/D bits (set at attach). */
  private ept = new EptSptes(true);
  /** root_count of a shadow page now (the vCPU root slots holding it), read from the model as its zap is traced. */
  private rootCount: (sp: number) => number | undefined = () => undefined;
  /** Whether a shadow page is unsync now, read from the model as its zap is traced (before the zap marks it sync). */
  private unsync: (sp: number) => boolean = () => false;
  /** The kvm_exit of a fault (EPT violation or #PF), completed by the fault that follows (exit qualification, error code). */
  /** Per thread, the reason of its fault exit whose fault has not begun yet: the fault line's error code says whether a present SPTE refused it. */
  private readonly pendingExit = new Map<number, string>();
  /**
   * Threads whose last exit reached an MMIO SPTE: a full fault that follows the
   * MMIO check's mismatch prints no kvm_page_fault (handle_ept_misconfig has no
   * such tracepoint; a #PF intercept's was printed at its exit, before the check).
   */
  private readonly mmioExit = new Set<number>();
  private gen = 0;
  private readonly budget: EventBudget;
  private readonly clock = new StepClock();

  /** `maxEvents` bounds the events turned into lines (DEFAULT_MAX_EVENTS). */
  constructor(opts: { maxEvents?: number } = {}) {
    this.budget = new EventBudget(opts.maxEvents);
  }

  attach(inst: KvmInstance): void {
    this.inst = inst;
    this.clock.attach(inst);
    this.shadow = inst.kvm.settings.mmu === 'shadow';
    this.ept = new EptSptes(inst.kvm.settings.eptAdBits === 'on');
    const mmu = inst.kvm.mmu;
    this.rootCount = mmu instanceof ShadowMmu ? (sp) => mmu.sps[sp]?.rootCount : () => undefined;
    this.unsync = mmu instanceof ShadowMmu ? (sp) => mmu.sps[sp]?.unsync === true : () => false;
    this.gen = inst.kvm.mmuValidGen;
  }

  on(ev: KvmEvent, stamp: EventStamp): void {
    const at = this.clock.stamp(ev, stamp);
    if (at === null || !this.budget.take(at)) return;
    const before = this.recs.length;
    this.lines(ev, at);
    // A checker's replay: every event of the printed interleaving is a line of its thread at its number,
    // so that the race reads in the log as printed (the request made and serviced, the seq snapshot,
    // get_user_pages and the host PTE change had none: the kernel has no tracepoint for them).
    if (this.clock.active === true && this.recs.length === before) this.add(at, ...storyLine(ev));
  }

  /** The lines of the tracepoints (or mmulab_* stand-ins) the event hits, if any. */
  private lines(ev: KvmEvent, at: EventStamp): void {
    switch (ev.e) {
      case 'faultBegin': {
        const exit = this.pendingExit.get(at.tid);
        this.pendingExit.delete(at.tid);
        if (this.mmioExit.delete(at.tid)) return;
        // The #PF error code, or the EPT exit qualification, as the exit said it (pfErrorCode).
        const err = this.shadow ? pfErrorCode(exit === 'write-protect', ev.write, ev.gfn) : eptQualification(ev.write, exit === 'ept-write-protect');
        this.add(at, 'kvm_page_fault', `vcpu ${ev.vcpu} rip 0x0 address 0x${pad(ev.gfn * 4096, 16)} error_code 0x${err.toString(16)}`);
        return;
      }
      case 'faultEnd':
        this.add(
          at,
          'mmulab_page_fault_done',
          `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} ret ${RET_PF_NAMES[ev.ret]} retries ${ev.retries}${ev.ret === 'fixed' || ev.ret === 'spurious' ? ` latency_ns ${Math.round(ev.latencyNs)}` : ''}`,
        );
        return;
      case 'vmEntry':
        this.mmioExit.delete(at.tid);
        this.add(at, 'kvm_entry', `vcpu ${ev.vcpu}, rip 0x0`);
        return;
      case 'vmExit': {
        this.mmioExit.delete(at.tid);
        if (ev.reason === 'pf-rsvd' || ev.reason === 'ept-misconfig') this.mmioExit.add(at.tid);
        const pf = ev.reason === 'ept-violation' || ev.reason === 'pf-intercept' || ev.reason === 'write-protect' || ev.reason === 'ept-write-protect';
        if (pf && ev.gfn !== undefined) {
          // EPT violation: the exit qualification; a #PF intercept: the faulting
          // address, the vector and the error code. Written at the exit, so that an
          // exit whose fault the run's end cuts off says them too.
          const write = ev.write === true;
          this.add(
            at,
            'kvm_exit',
            this.shadow
              ? kvmExit(ev.vcpu, 'EXCEPTION_NMI', ev.gfn * 4096, PF_INTR_INFO, pfErrorCode(ev.reason === 'write-protect', write, ev.gfn))
              : kvmExit(ev.vcpu, 'EPT_VIOLATION', eptQualification(write, ev.reason === 'ept-write-protect')),
          );
          this.pendingExit.set(at.tid, ev.reason);
          return;
        }
        // A #PF with a reserved bit set (an MMIO SPTE under shadow paging): the address, and the
        // error code P|RSVD plus W for a write and U for a user access; kvm_handle_page_fault
        // traces it as kvm_page_fault before kvm_mmu_page_fault's MMIO check, whatever the check
        // finds. An EPT misconfiguration has no qualification, and handle_ept_misconfig no
        // kvm_page_fault: kvm_mmu_page_fault with PFERR_RSVD_MASK checks the MMIO SPTE first.
        if (ev.reason === 'pf-rsvd' && ev.gfn !== undefined) {
          const err = PFERR_PRESENT_RSVD | (ev.write ? PFERR_WRITE : 0) | (userAddress(ev.gfn) ? PFERR_USER : 0);
          this.add(at, 'kvm_exit', kvmExit(ev.vcpu, 'EXCEPTION_NMI', ev.gfn * 4096, PF_INTR_INFO, err));
          this.add(at, 'kvm_page_fault', `vcpu ${ev.vcpu} rip 0x0 address 0x${pad(ev.gfn * 4096, 16)} error_code 0x${err.toString(16)}`);
          return;
        }
        // An INVLPG exit's qualification is the linear address (handle_invlpg passes it to kvm_mmu_invlpg).
        const info1 = ev.reason === 'cr3' ? MOV_TO_CR3_QUALIFICATION : ev.reason === 'invlpg' && ev.gfn !== undefined ? ev.gfn * 4096 : 0;
        const intrInfo = (pf && this.shadow) || ev.reason === 'pf-rsvd' ? PF_INTR_INFO : ev.reason === 'kick' ? KICK_INTR_INFO : 0;
        this.add(at, 'kvm_exit', kvmExit(ev.vcpu, EXIT_REASONS[ev.reason], info1, intrInfo));
        return;
      }
      case 'entryCancelled':
        this.add(at, 'mmulab_entry_cancelled', `vcpu ${ev.vcpu} requests ${requestList(ev.requests)}`);
        return;
      case 'spCreate':
        this.add(at, 'kvm_mmu_get_page', `${mmuPage(ev.gen, ev.gfn, ev.level, ev.direct, 0, false)} new`);
        return;
      case 'spFound':
        this.add(at, 'kvm_mmu_get_page', `${mmuPage(ev.gen, ev.gfn, ev.level, false, this.rootCount(ev.sp) ?? 0, ev.unsync)} existing`);
        return;
      case 'spZap':
        // The page's own generation and role: it may have been made before the log began (a warm start).
        this.add(at, 'kvm_mmu_prepare_zap_page', mmuPage(ev.gen, ev.gfn, ev.level, ev.direct, this.rootCount(ev.sp) ?? (ev.root ? 1 : 0), this.unsync(ev.sp)));
        return;
      case 'spZapInvalid':
        this.add(at, 'kvm_mmu_prepare_zap_page', mmuPage(ev.gen, ev.gfn, ev.level, ev.direct, this.rootCount(ev.sp) ?? 0, this.unsync(ev.sp), true));
        return;
      case 'spUnsync':
        // kvm_unsync_page traces before it sets sp->unsync: the page prints sync.
        this.add(at, 'kvm_mmu_unsync_page', mmuPage(ev.gen, ev.gfn, ev.level, false, this.rootCount(ev.sp) ?? 0, false));
        return;
      case 'spSync':
        // kvm_unlink_unsync_page traces before it clears sp->unsync: the page prints unsync.
        this.add(at, 'kvm_mmu_sync_page', mmuPage(ev.gen, ev.gfn, ev.level, false, this.rootCount(ev.sp) ?? 0, true));
        return;
      case 'injException':
        // TP_printk of kvm_inj_exception: the vector's name, the error code (%#x through __print_symbolic), [reinjected].
        this.add(at, 'kvm_inj_exception', `${EXCEPTION_NAMES[ev.vector] ?? ev.vector} (0x${hex(ev.errorCode)})${ev.reinjected ? ' [reinjected]' : ''}`);
        return;
      case 'cr3Write':
        // handle_cr traces the MOV to CR3 before kvm_set_cr3, whatever it does with
        // the value: there is no tracepoint for kvm_mmu_new_pgd, nor for a reload of
        // the same CR3 (kvm_invalidate_pcid).
        this.add(at, 'kvm_cr', `cr_write 3 = ${cr3Text(ev.cr3)}`);
        return;
      case 'invlpg':
        // kvm_mmu_invlpg and kvm_mmu_invalidate_addr have no tracepoint (the exit is the kvm_exit above).
        this.add(at, 'mmulab_invlpg', `vcpu ${ev.vcpu} gva 0x${(ev.gva * 4096).toString(16)} tlb_entry ${ev.tlbEntry ? 1 : 0}`);
        return;
      case 'invlpgSyncSpte':
        // FNAME(sync_spte) has none either; a drop is the mmulab_drop_spte line before, a re-stamp the mark_mmio_spte line.
        this.add(
          at,
          'mmulab_invalidate_addr_sync_spte',
          `vcpu ${ev.vcpu} gva 0x${(ev.gva * 4096).toString(16)} root ${ev.root}${ev.prev ? ' prev' : ''} sp ${ev.sp} ${ev.result}${ev.flush === 'done' ? ' flush' : ev.flush === 'skipped' ? ' no_flush' : ''}`,
        );
        return;
      case 'mmuValidGen':
        // No tracepoint: kvm_mmu_zap_all_fast's fires before the toggle and says the generation it retires.
        this.add(at, 'mmulab_mmu_valid_gen', `mmu_valid_gen ${this.gen} -> ${ev.gen}`);
        this.gen = ev.gen;
        return;
      case 'zapAllBegin':
        // kvm_mmu_zap_all_fast traces as it takes mmu_lock, before it toggles mmu_valid_gen: the generation it retires.
        // used_pages is n_used_mmu_pages, which counts the shadow MMU's pages only: the TDP MMU's are not in it.
        if (ev.how === 'kvm_mmu_zap_all_fast')
          this.add(at, 'kvm_mmu_zap_all_fast', `kvm-mmu-valid-gen ${this.gen} used_pages ${hex(this.shadow ? ev.pages : 0)}`);
        else {
          this.add(at, 'mmulab_mmu_zap', `${ZAP_FN[ev.how]} used_pages ${hex(ev.pages)}`);
        }
        return;
      case 'zapAllEnd':
        this.add(at, 'mmulab_mmu_zap_done', `${ZAP_FN[ev.how]} duration_ns ${ev.durationNs}`);
        return;
      case 'shadowReclaim':
        // The kernel has no tracepoint for the reclaim itself (each page it zaps is a kvm_mmu_prepare_zap_page line above).
        this.add(
          at,
          'mmulab_zap_oldest_mmu_pages',
          `nr_to_zap ${ev.wanted} zapped ${ev.zapped} used_pages ${hex(ev.used)} max_pages ${hex(ev.max)}${ev.flush ? '' : ' no_flush'}`,
        );
        return;
      case 'zapBatch':
        this.add(
          at,
          'mmulab_zap_batch',
          `${ev.what} pages ${ev.pages} lock_break ${ev.lockBreak ? 1 : 0}${ev.left === undefined ? '' : ` pages_left ${ev.left}`}`,
        );
        return;
      case 'lockBreak':
        // The pages left to zap (a zap-all's): growing, the lock-break zap-all's livelock; shrinking, the fast zap's end.
        // Once the holder has the lock back (the zap-alls'): the acquisitions by others in the break, and how long it was without the lock.
        this.add(
          at,
          'mmulab_lock_break',
          `${ev.holder} drops mmu_lock${ev.left === undefined ? '' : ` pages_left ${ev.left}`}${ev.offNs === undefined ? '' : ` others_took ${ev.others} retaken_after_ns ${ev.offNs}`}`,
        );
        return;
      case 'spteSet': {
        if (!this.shadow) {
          this.add(
            at,
            'kvm_tdp_mmu_spte_changed',
            `as id 0 gfn ${hex(ev.gfn)} level ${ev.level} old_spte ${this.oldLeaf(ev)} new_spte ${this.ept.leaf(ev.newPfn)}`,
          );
        } else if (ev.newPfn >= 0) {
          // mmu_set_spte traces the SPTE as it stored it, and where (virt_to_phys(sptep)).
          const bits = shadowSpte(ev.newPfn, userAddress(ev.gfn), ev.writable === true);
          this.add(
            at,
            'kvm_mmu_set_spte',
            `gfn ${hex(ev.gfn)} spte ${hex(bits)} (${spteAccess(bits)}) level ${ev.level} at ${hex(sptePhys(ev.sp ?? 0, ev.gfn))}`,
          );
        } else {
          const bits = shadowSpte(ev.oldPfn, userAddress(ev.gfn), ev.writable === true);
          this.add(at, 'mmulab_drop_spte', `gfn ${hex(ev.gfn)} spte ${hex(bits)} level ${ev.level} at ${hex(sptePhys(ev.sp ?? 0, ev.gfn))}`);
        }
        return;
      }
      case 'ageHva':
        this.add(at, 'kvm_age_hva', `mmu notifier age hva: ${hexPad(ev.hvaStart * 4096)} -- ${hexPad(ev.hvaEnd * 4096)}`);
        return;
      case 'ageSpteRead':
        // No tracepoint: kvm_age_gfn's read of the leaf (iter.old_spte), where its lockless race opens.
        this.add(
          at,
          'mmulab_age_spte_read',
          `${ev.sp !== undefined ? `sp ${ev.sp}` : `root ${ev.root}`} gfn ${hex(ev.gfn)} pfn ${hex(ev.pfn)} young ${ev.young ? 1 : 0}`,
        );
        return;
      case 'ageSpte':
        // kvm_age_rmap traces nothing (its kvm_age_page tracepoint is gone).
        if (ev.sp !== undefined) {
          this.add(at, 'mmulab_age_rmap', `sp ${ev.sp} gfn ${hex(ev.gfn)} pfn ${hex(ev.pfn)}`);
          return;
        }
        // kvm_tdp_mmu_age_spte traces the change: old_spte what the atomic AND found (0 for a leaf zapped since
        // the read), or under the mutant the value read; new_spte that less the A bit.
        if (ev.plain || ev.curPfn >= 0) {
          const pfn = ev.plain ? ev.pfn : ev.curPfn;
          const w = ev.writable ?? true;
          this.add(
            at,
            'kvm_tdp_mmu_spte_changed',
            `as id 0 gfn ${hex(ev.gfn)} level 1 old_spte ${this.ept.leaf(pfn, w)} new_spte ${this.ept.leaf(pfn, w, false)}`,
          );
        } else {
          this.add(at, 'kvm_tdp_mmu_spte_changed', `as id 0 gfn ${hex(ev.gfn)} level 1 old_spte ${this.ept.none()} new_spte ${this.ept.none()}`);
        }
        if (ev.plain) this.add(at, 'mmulab_age_plain_store', `gfn ${hex(ev.gfn)} over ${this.ept.leaf(ev.curPfn, ev.curWritable ?? true)}`);
        return;
      case 'ageSpteMark':
        // kvm_tdp_mmu_age_spte traces the change it made (mark_spte_for_access_track); a failed
        // cmpxchg returns before the tracepoint. Under the mutant: the value read, stored over whatever was there.
        if (ev.ok) {
          this.add(
            at,
            'kvm_tdp_mmu_spte_changed',
            `as id 0 gfn ${hex(ev.gfn)} level 1 old_spte ${this.ept.leaf(ev.pfn, ev.writable)} new_spte ${this.ept.tracked(ev.pfn)}`,
          );
          if (ev.plain)
            this.add(
              at,
              'mmulab_age_plain_store',
              `gfn ${hex(ev.gfn)} over ${ev.curTracked ? this.ept.tracked(ev.curPfn) : this.ept.leaf(ev.curPfn, ev.curWritable)}`,
            );
        } else {
          this.add(
            at,
            'mmulab_age_mark_failed',
            `gfn ${hex(ev.gfn)} old ${this.ept.leaf(ev.pfn, ev.writable)} cur ${ev.curTracked ? this.ept.tracked(ev.curPfn) : this.ept.leaf(ev.curPfn, ev.curWritable)}`,
          );
        }
        return;
      case 'folioReferenced':
        // No tracepoint: shrink_folio_list's verdict on the folio (folio_check_references).
        this.add(at, 'mmulab_folio_referenced', `hva ${hexPad(ev.hvaStart * 4096)} -- ${hexPad(ev.hvaEnd * 4096)} ${ev.young ? 'young keep' : 'old reclaim'}`);
        return;
      case 'invalidateRangeStart':
        this.add(at, 'kvm_unmap_hva_range', `mmu notifier unmap range: ${hexPad(ev.hvaStart * 4096)} -- ${hexPad(ev.hvaEnd * 4096)}`);
        return;
      case 'invalidateBegin':
        this.add(at, 'mmulab_mmu_invalidate_begin', `in_progress ${ev.inProgress}`);
        return;
      case 'invalidateRangeAdd':
        this.add(at, 'mmulab_mmu_invalidate_range_add', `start ${hex(ev.start)} end ${hex(ev.end)}`);
        return;
      case 'invalidateEnd':
        this.add(at, 'mmulab_mmu_invalidate_end', `seq ${ev.seq} in_progress ${ev.inProgress}`);
        return;
      case 'remoteFlushBegin':
        this.add(at, 'mmulab_flush_remote_tlbs', `reason ${ev.reason}`);
        return;
      case 'dirtyLogEnable':
        // Dirty logging has no tracepoints of its own (kvm_set_user_memory_region traces the slot, not the flags).
        this.add(
          at,
          'mmulab_dirty_log_enable',
          `slot ${ev.slot} ${ev.phase}${ev.phase === 'returned' ? ` wrprot ${ev.leaves} flush ${flushWord(ev.flush)}` : ''}${ev.initiallySet ? ' initially_set' : ''}`,
        );
        return;
      case 'dirtyLogHarvest':
        this.add(
          at,
          'mmulab_get_dirty_log',
          `slot ${ev.slot} nr ${ev.n} ${ev.phase} gfns ${ev.gfns.map(hex).join(',') || '-'}${ev.phase === 'returned' ? ` flush ${flushWord(ev.flush)}` : ''}${ev.manual ? ' manual' : ''}`,
        );
        return;
      case 'dirtyLogClear':
        this.add(
          at,
          'mmulab_clear_dirty_log',
          `slot ${ev.slot} nr ${ev.n} ${ev.phase} mask ${ev.mask.map(hex).join(',') || '-'} gfns ${ev.gfns.map(hex).join(',') || '-'}` +
            (ev.phase === 'returned' ? ` flush ${flushWord(ev.flush)}` : '') +
            (ev.lost !== undefined ? ` lost ${ev.lost.map(hex).join(',')}` : '') +
            (ev.plain ? ' plain' : ''),
        );
        return;
      case 'dirtyLogWrprot':
        // The TDP MMU's W bit going is an SPTE change it traces (handle_changed_spte); the rmaps' is not traced.
        if (!this.shadow && ev.wasWritable && ev.pfn !== undefined) {
          this.add(
            at,
            'kvm_tdp_mmu_spte_changed',
            `as id 0 gfn ${hex(ev.gfn)} level 1 old_spte ${this.ept.leaf(ev.pfn, true, ev.accessed ?? true)} new_spte ${this.ept.leaf(ev.pfn, false, ev.accessed ?? true)}`,
          );
        }
        this.add(at, 'mmulab_dirty_log_wrprot', `gfn ${hex(ev.gfn)} by ${ev.by} was_writable ${ev.wasWritable ? 1 : 0}`);
        return;
      case 'dirtyLogCopy':
        this.add(at, 'mmulab_dirty_log_copy', `slot ${ev.slot} nr ${ev.n} gfn ${hex(ev.gfn)}`);
        return;
      case 'dirtyRingPush': {
        // The kernel's own tracepoints for the ring (push, exit, reset), with its fields; the VMM's collection and hand-over,
        // and the reset's steps, are mmulab_*.
        const dirty = ev.index + 1;
        if (ev.index - ev.resetIndex >= ev.size)
          this.add(
            at,
            'mmulab_dirty_ring_full_push',
            `ring ${ev.vcpu} index ${ev.index} slot ${ev.index & (ev.size - 1)} used ${ev.index - ev.resetIndex} size ${ev.size}: the kernel WARNs (kvm_dirty_ring_full)` +
              (ev.overwrote !== undefined ? `; overwrites gfn ${hex(ev.overwrote)}, not collected` : ''),
          );
        this.add(
          at,
          'kvm_dirty_ring_push',
          `ring ${ev.vcpu}: dirty 0x${hex(dirty)} reset 0x${hex(ev.resetIndex)} slot ${ev.slot} offset 0x${hex(ev.offset)} (used ${dirty - ev.resetIndex} soft ${ev.softFull ? 1 : 0})`,
        );
        return;
      }
      case 'dirtyRingExit':
        this.add(at, 'kvm_dirty_ring_exit', `vcpu ${ev.vcpu}`);
        return;
      case 'dirtyRingCollect':
        this.add(at, 'mmulab_dirty_ring_collect', `ring ${ev.vcpu} nr ${ev.n} by ${ev.by} gfns ${ev.gfns.map(hex).join(',')}`);
        return;
      case 'dirtyRingSync':
        this.add(at, 'mmulab_dirty_ring_sync', `nr ${ev.n} gfns ${ev.gfns.map(hex).join(',') || '-'}`);
        return;
      case 'dirtyRingReset':
        if (ev.phase === 'ring')
          this.add(
            at,
            'kvm_dirty_ring_reset',
            `ring ${ev.vcpu}: dirty 0x${hex(ev.dirtyIndex)} reset 0x${hex(ev.resetIndex)} (used ${ev.dirtyIndex - ev.resetIndex})`,
          );
        else if (ev.phase === 'entry')
          this.add(at, 'mmulab_dirty_ring_entry_reset', `ring ${ev.vcpu} nr ${ev.n} gfn ${hex(ev.gfns[0]!)} reset_index ${ev.entries}`);
        else if (ev.phase === 'mask') this.add(at, 'mmulab_reset_dirty_gfn', `ring ${ev.vcpu} nr ${ev.n} gfns ${ev.gfns.map(hex).join(',')}`);
        else this.add(at, 'mmulab_reset_dirty_rings', `nr ${ev.n} entries ${ev.entries} flush ${flushWord(ev.flush)}`);
        return;
      case 'markPageDirty':
        this.add(
          at,
          'mmulab_mark_page_dirty',
          `vcpu ${ev.vcpu} slot ${ev.slot} gfn ${hex(ev.gfn)}${ev.wpFault ? ' wp_fault' : ''}${ev.fast ? ' fast' : ''}${ev.already ? ' already' : ''}`,
        );
        return;
      case 'fastPfGetSpte':
        // No tracepoint: the lockless read fast_page_fault's own tracepoint reports only as its `old`.
        this.add(
          at,
          'mmulab_fast_pf_get_spte',
          `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} spte ${ev.accessTracked ? this.ept.tracked(ev.pfn) : this.ept.leaf(ev.pfn, ev.writable)}`,
        );
        return;
      case 'fastPfCmpxchg':
        // No tracepoint of its own (fast_pf_fix_direct_spte's cmpxchg bypasses handle_changed_spte: no kvm_tdp_mmu_spte_changed).
        if (ev.restore !== undefined) {
          const old = ev.restore ? this.ept.tracked(ev.oldPfn) : this.ept.leaf(ev.oldPfn, false);
          const cur = ev.curAccessTracked ? this.ept.tracked(ev.curPfn) : this.ept.leaf(ev.curPfn, ev.curWritable);
          const how = ev.plain ? 'plain_store' : ev.ok ? 'ok' : 'failed';
          this.add(
            at,
            'mmulab_fast_pf_cmpxchg',
            `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} old ${old} cur ${cur} new ${this.ept.leaf(ev.oldPfn, ev.newWritable)} ${how}${ev.restore ? ' restore_acc_track' : ''}`,
          );
          return;
        }
        this.add(
          at,
          'mmulab_fast_pf_cmpxchg',
          `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} old ${this.ept.leaf(ev.oldPfn, false)} cur ${this.ept.leaf(ev.curPfn, ev.curWritable)} new ${this.ept.leaf(ev.oldPfn)} ${ev.plain ? 'plain_store' : ev.ok ? 'ok' : 'failed'}`,
        );
        return;
      case 'fastPageFault': {
        // mmutrace.h fast_page_fault: the error code KVM derived from the EPT violation
        // (present, write), the leaf (the model has no addresses: sptePhys stands in),
        // the value read and the value now.
        if (ev.notPresent !== undefined) {
          // A fault on a leaf not present (no EPT A/D bits): no PFERR_PRESENT; a restored leaf is writable for a write.
          const old = ev.accessTracked ? this.ept.tracked(ev.oldPfn) : this.ept.leaf(ev.oldPfn, ev.oldWritable);
          const fixed = ev.ret === 'fixed' ? this.ept.leaf(ev.oldPfn, ev.oldWritable || ev.notPresent === 'write') : old;
          this.add(
            at,
            'fast_page_fault',
            `vcpu ${ev.vcpu} gva ${hex(ev.gfn * 4096)} error_code ${ev.notPresent === 'write' ? 'W' : '0'} sptep ${hex(sptePhys(0, ev.gfn))} old 0x${old} new ${fixed} spurious ${ev.ret === 'spurious' ? 1 : 0} fixed ${ev.ret === 'fixed' ? 1 : 0}`,
          );
          return;
        }
        const now = ev.ret === 'invalid' ? this.ept.leaf(ev.oldPfn, ev.oldWritable) : this.ept.leaf(ev.oldPfn);
        this.add(
          at,
          'fast_page_fault',
          `vcpu ${ev.vcpu} gva ${hex(ev.gfn * 4096)} error_code P|W sptep ${hex(sptePhys(0, ev.gfn))} old 0x${this.ept.leaf(ev.oldPfn, ev.oldWritable)} new ${now} spurious ${ev.ret === 'spurious' ? 1 : 0} fixed ${ev.ret === 'fixed' ? 1 : 0}`,
        );
        return;
      }
      case 'gfnWriteProtected':
        // No tracepoint: where KVM starts relying on a guest table's write protection (the oracle's check).
        this.add(at, 'mmulab_write_protect_gfn', `gfn ${hex(ev.gfn)} by ${ev.by} flush ${ev.flush === 'none needed' ? 'none-needed' : ev.flush}`);
        return;
      case 'mmioSpteSet':
        // mark_mmio_spte's fields (no sptep: the model has no addresses; access: none kept).
        this.add(at, 'mark_mmio_spte', `gfn ${hex(ev.gfn)} access 0 gen ${hex(ev.gen)}`);
        return;
      case 'mmioCheck':
        // check_mmio_spte traces only past the update-in-progress test; handle_mmio_page_fault on a match.
        if (ev.inProgress) this.add(at, 'mmulab_check_mmio_spte', `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} update_in_progress spte-gen ${hex(ev.spteGen)} valid 0`);
        else this.add(at, 'check_mmio_spte', `kvm_gen ${hex(ev.gen)} spte-gen ${hex(ev.spteGen)} valid ${ev.match ? 1 : 0}`);
        // handle_mmio_page_fault traces addr 0 for a direct MMU (TDP), the faulting address under shadow paging.
        if (ev.match) this.add(at, 'handle_mmio_page_fault', `addr:${this.shadow ? hex(ev.gfn * 4096) : '0'} gfn ${hex(ev.gfn)} access 0`);
        return;
      case 'mmioSpteZap':
        // No tracepoint: sync_mmio_spte's drop under syncMmioSpte=zap (mmu_spte_clear_no_track).
        this.add(at, 'mmulab_sync_mmio_spte_zap', `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} spte-gen ${ev.gen >= 0 ? hex(ev.gen) : '-'} sp ${ev.sp}`);
        return;
      case 'mmioGenWrap':
        // kvm_mmu_invalidate_mmio_sptes's debug message, before its kvm_mmu_zap_all_fast.
        this.add(at, 'mmulab_mmio_gen_wrap', `generation ${ev.generation}: zapping shadow pages for mmio generation wraparound`);
        return;
      case 'workloadPhase':
        // No tracepoint: the guest's access pattern changing (workload.phases), where the vCPU enters the phase.
        this.add(
          at,
          'mmulab_workload_phase',
          `vcpu ${ev.vcpu} phase ${ev.phase} ${ev.byAccess ? 'start_access' : 'start_ns'} ${ev.start} pattern ${ev.pattern} gfn_start ${hex(ev.gfnStart)} gfn_count ${ev.gfnCount}`,
        );
        return;
      case 'memslotsPublish':
        // No tracepoint: kvm_swap_active_memslots publishing a set, with the update-in-progress bit.
        this.add(at, 'mmulab_memslots_publish', `generation ${ev.generation} update_in_progress ${ev.inProgress ? 1 : 0}`);
        return;
      case 'memslotsGeneration':
        // No tracepoint: the final generation stored, the update done.
        this.add(at, 'mmulab_memslots_generation', `generation ${ev.generation} update_in_progress 0`);
        return;
      case 'apicReload':
        this.add(at, 'mmulab_apic_access_reload', `vcpu ${ev.vcpu} pfn ${ev.pfn >= 0 ? hex(ev.pfn) : '-'} ${ev.outcome}`);
        return;
      case 'memslotChange':
        this.add(at, 'mmulab_set_memory_region', `slot ${ev.slot} op ${ev.op} phase ${ev.phase}`);
        return;
      case 'memslotLookup':
        // No tracepoint: a fault's kvm_vcpu_gfn_to_memslot, or the APIC-access reload's id_to_memslot (only where memslots change).
        this.add(
          at,
          'mmulab_memslot_lookup',
          `vcpu ${ev.vcpu} by ${ev.by === 'fault' ? 'kvm_vcpu_gfn_to_memslot' : 'id_to_memslot'} gfn ${hex(ev.gfn)} slot ${ev.slot >= 0 ? ev.slot : 'none'} invalid ${ev.invalid ? 1 : 0}`,
        );
        return;
      case 'apicRetryCheck':
        // vmx_set_apic_access_page_addr's mmu_invalidate_retry_gfn under read_lock(mmu_lock): no tracepoint.
        this.add(
          at,
          'mmulab_mmu_invalidate_retry_gfn',
          `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} in_progress ${ev.inProgress}${ev.inProgress > 0 ? ` range_start ${hex(ev.rangeStart)} range_end ${hex(ev.rangeEnd)}` : ''} seq ${ev.seq} snapshot ${ev.snapshot} retry ${ev.retry ? 1 : 0}${ev.ignored ? ' ignored' : ''}`,
        );
        return;
      case 'precheck':
        // kvm_faultin_pfn's mmu_invalidate_retry_gfn_unsafe, without mmu_lock: no tracepoint. A run logs the
        // checks that retry (each explains the RET_PF_RETRY(precheck) after it), a checker's replay every one.
        if (!ev.retry && this.clock.active !== true) return;
        this.add(
          at,
          'mmulab_mmu_invalidate_retry_gfn_unsafe',
          `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)}${ev.afterGup ? ' after_gup' : ''} in_progress ${ev.inProgress}${ev.kept ? ' kept' : ''}${ev.inProgress > 0 ? ` range_start ${hex(ev.rangeStart)} range_end ${hex(ev.rangeEnd)}` : ''} seq ${ev.seq} snapshot ${ev.snapshot} retry ${ev.retry ? 1 : 0}`,
        );
        return;
      case 'trackWrite':
        // kvm_mmu_track_write has no tracepoint (only the mmu_pte_write and mmu_flooded stats): each page
        // flooding zaps is a kvm_mmu_prepare_zap_page line before, each SPTE dropped a mmulab_drop_spte line.
        this.add(at, 'mmulab_mmu_track_write', trackWriteFields(ev));
        return;
      case 'mutantActed':
        // The kernel has nothing to trace here: the mutant left something out.
        this.add(at, 'mmulab_mutant_acted', `${ev.mutant}: ${ev.what}`);
        return;
      case 'zapResumed':
        // tdp_mmu_iter_cond_resched has no tracepoint: the walk goes on after a mmulab_lock_break and finds nothing more to zap.
        this.add(
          at,
          'mmulab_zap_resumed',
          `${ev.holder} root ${ev.root} end ${ev.end < Number.MAX_SAFE_INTEGER ? hex(ev.end) : 'max'} zapped 0 flush_pending ${ev.flushPending ? 1 : 0}`,
        );
        return;
      default: {
        // Roots and the requests that drop them (thread 003): no tracepoints, mmulab_* lines in runs too.
        const line = rootLine(ev);
        if (line !== null) this.add(at, ...line);
        return;
      }
    }
  }

  /**
   * The log, in chunks; `title` goes in the header (scenario, seed). For a
   * counterexample, `steps` is the number of lines (events) of its printed interleaving,
   * which the replay's events should match one for one (said when not).
   * `outcome`: header lines on how the run ended (partial, a livelock, a model
   * bug). Each violation the oracle found is a line of its own, where it was
   * found.
   */
  *render(opts: { title?: string; steps?: number; outcome?: readonly string[] } = {}): Generator<string> {
    this.names = this.inst ? threadNames(this.inst) : this.names;
    const violations = (this.inst?.violations ?? []).map((v, i) => ({
      // In events, a violation stands on the event it was found on (the last printed).
      ts: this.clock.active ? this.clock.violationStep(v.step) * NS_PER_STEP : v.timeNs,
      seq: this.recs.length + i,
      tid: this.names.indexOf(v.thread),
      name: 'mmulab_violation',
      text: `${v.kind}: ${printable(v.message)}`,
    }));
    let cpus = Math.max(1, this.names.length);
    for (const r of this.recs) if (r.tid + 1 > cpus) cpus = r.tid + 1;
    // The title holds the scenario's name: a newline in it would end the header line.
    yield `# mmulab ftrace-style log (trace-cmd report -t layout)${opts.title ? `: ${printable(opts.title)}` : ''}\n`;
    if (this.clock.active) {
      yield `# time is the number of the event in the interleaving as mmulab check/replay print it (not a scheduler step): event n at n µs (event 12 at ${secs(12 * NS_PER_STEP).trim()}); virtual time is per thread in a checker run and does not order threads\n`;
      if (opts.steps !== undefined && opts.steps !== this.clock.events) {
        yield `# note: the replay had ${this.clock.events} events, the printed interleaving ${opts.steps}: the numbers may not match\n`;
      }
      yield '# comm-pid is the model thread, [cpu] its index; rip is not modelled (0)\n';
    } else {
      yield '# virtual time; comm-pid is the model thread, [cpu] its index; rip is not modelled (0)\n';
    }
    yield '# mmulab_* events have no kernel tracepoint; the others print as the kernel prints them\n';
    for (const line of opts.outcome ?? []) yield `# ${printable(line)}\n`;
    if (this.budget.truncatedAt !== null) {
      yield `# truncated: the log stops at ${secs(this.budget.truncatedAt).trim()} s after ${this.budget.taken} events; ${this.budget.dropped} later events are not in it\n`;
    }
    yield `cpus=${cpus}\n`;
    // Threads run ahead of each other within a step: lines kept past the cut go too.
    const upTo = this.budget.truncatedAt ?? Number.POSITIVE_INFINITY;
    const sorted = [...this.recs, ...violations].filter((r) => r.ts <= upTo).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    let chunk = '';
    for (const r of sorted) {
      chunk += this.format(r);
      if (chunk.length > 1 << 16) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  /**
   * A TDP SPTE change's old_spte: the leaf as the model had it (its W bit, its A
   * bit, marked for access tracking), not remade as a writable leaf; none for no leaf.
   */
  private oldLeaf(ev: KvmEvent & { e: 'spteSet' }): string {
    if (ev.oldPfn < 0) return this.ept.none();
    if (ev.oldAccessTracked === true) return this.ept.tracked(ev.oldPfn);
    return this.ept.leaf(ev.oldPfn, ev.oldWritable ?? true, ev.oldAccessed ?? true);
  }

  private format(r: Rec): string {
    const comm = this.names[r.tid] ?? (r.tid < 0 ? 'host' : `thread${r.tid}`);
    const cpu = String(Math.max(0, r.tid)).padStart(3, '0');
    return `${comm.padStart(16)}-${String(1000 + r.tid).padEnd(5)} [${cpu}] ${secs(r.ts)}: ${`${r.name}:`.padEnd(21)} ${r.text}\n`;
  }

  private add(at: EventStamp, name: string, text: string): Rec {
    const rec: Rec = { ts: at.ts, seq: this.recs.length, tid: at.tid, name, text };
    this.recs.push(rec);
    return rec;
  }
}

/**
 * The line of an event that has none in a simulated run's log, for a checker's
 * replay: mmulab_* (no tracepoint), with fields for the steps of a race
 * (request, seq snapshot, get_user_pages, host PTE), else the event described.
 */
function storyLine(ev: KvmEvent): [string, string] {
  switch (ev.e) {
    case 'request':
    case 'requestServiced':
      return requestLine(ev);
    case 'seqSnapshot':
      return ['mmulab_mmu_invalidate_seq_snapshot', `vcpu ${ev.vcpu} seq ${ev.seq}`];
    case 'gup':
      return ['mmulab_get_user_pages', `vcpu ${ev.vcpu} gfn ${hex(ev.gfn)} hva ${hex(ev.hva * 4096)} pfn ${hex(ev.pfn)}`];
    case 'hostPteChange':
      return ['mmulab_host_pte_change', `${ev.kind} hva ${hex(ev.hva * 4096)} old_pfn ${hex(ev.oldPfn)} new_pfn ${ev.newPfn < 0 ? '-' : hex(ev.newPfn)}`];
    default:
      return [`mmulab_${ev.e.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`, printable(describeEvent(ev))];
  }
}

interface Rec {
  /** Virtual ns. */
  ts: number;
  /** Emission order. */
  seq: number;
  tid: number;
  /** Tracepoint name. */
  name: string;
  /** Its fields, printed. */
  text: string;
}

/** VMX basic exit reasons for the model's exits (a shadow-paging fault is a #PF intercept, an exception exit). */
const EXIT_REASONS: Record<VmExitReason, string> = {
  'ept-violation': 'EPT_VIOLATION',
  kick: 'EXTERNAL_INTERRUPT',
  done: 'HLT',
  'pf-intercept': 'EXCEPTION_NMI',
  'write-protect': 'EXCEPTION_NMI',
  'ept-write-protect': 'EPT_VIOLATION',
  'ept-misconfig': 'EPT_MISCONFIG',
  'pf-rsvd': 'EXCEPTION_NMI',
  cr3: 'CR_ACCESS',
  invlpg: 'INVLPG',
};

/**
 * A CR_ACCESS exit's qualification for the guest's CR3 write (SDM, "Exit
 * Qualification for Control-Register Accesses"): bits 3:0 the control register
 * (3), bits 5:4 the access type (0, MOV to CR), bits 11:8 the source register
 * (0, RAX: the model has no registers).
 */
const MOV_TO_CR3_QUALIFICATION = 0x3;

const hex = (n: number) => n.toString(16);

/**
 * kvm_mmu_track_write's line: the table's gfn and the entries written, then
 * either `indirect_shadow_pages 0` (it returns at once) or the shadow pages
 * updated (each level > 1 page with its write-flooding count), the present
 * SPTEs zapped and the pages zapped whole for flooding (the kernel's
 * mmu_flooded stat).
 */
function trackWriteFields(ev: Extract<KvmEvent, { e: 'trackWrite' }>): string {
  const where = `gfn ${hex(ev.gfn)} index ${ev.index} entries ${ev.through - ev.index}`;
  if (ev.noShadowPages) return `${where} indirect_shadow_pages 0`;
  const updated = ev.updated.map((sp, i) => {
    const n = ev.floodingCounts[i]!;
    return n < 0 ? `sp${sp}` : `sp${sp}(flooding ${n})`;
  });
  const flooded = ev.flooded.map((sp) => `sp${sp}`);
  return `${where} updated ${updated.length > 0 ? updated.join(',') : 'none'} sptes_zapped ${ev.dropped} flooded ${flooded.length > 0 ? flooded.join(',') : 'none'}`;
}

/** A flush's outcome as one word (WriteProtectFlush). */
function flushWord(flush: 'done' | 'none needed' | 'skipped'): string {
  return flush === 'none needed' ? 'none-needed' : flush;
}

/** %016llx: zero-padded to 16 hex digits. */
function pad(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** %#016lx: "0x" then zero padding, 16 characters in all. */
function hexPad(n: number): string {
  return `0x${n.toString(16).padStart(14, '0')}`;
}

/**
 * Whether a guest address is a user-space one: the model's guests map user
 * data below USER_TOP (kvm/guest-paging.ts), with U/S set in their PTEs, and
 * their page tables, which only the guest kernel writes, above.
 */
function userAddress(gfn: number): boolean {
  return gfn < USER_TOP;
}

/**
 * Host-physical address of the shadow pages' tables in the log: the model
 * allocates no host memory for them, so shadow page n stands at page n of a
 * region above every pfn the host mm hands out (2^32 pages at most).
 */
const SPT_PHYS_BASE = 2 ** 45;

/**
 * Where the SPTE mapping `gfn` in shadow page `sp` lies, as kvm_mmu_set_spte
 * prints it (virt_to_phys(sptep)): the page's table, plus 8 bytes per entry
 * before it. A leaf's index is the guest-virtual page's low 9 bits, and the
 * model's guests map each guest-virtual page to the gfn of the same number.
 */
function sptePhys(sp: number, gfn: number): number {
  return SPT_PHYS_BASE + sp * 4096 + (gfn % SPTES_PER_PAGE) * 8;
}

/**
 * Under shadow paging a fault is a #PF intercept: its error code is the
 * guest's #PF error code, as the exit's interruption error code carries it (P
 * when a present SPTE refused the access, W for a write, U for an access from
 * user mode). An EPT violation is traced by handle_ept_violation before KVM
 * derives a #PF error code from it: its lines carry the exit qualification, as
 * the kvm_exit's info1 does (read or write, the GPA valid and final).
 */
function pfErrorCode(present: boolean, write: boolean, gfn: number): number {
  return (present ? PFERR_PRESENT : 0) + (write ? PFERR_WRITE : 0) + (userAddress(gfn) ? PFERR_USER : 0);
}

/** x86 #PF error code bits (PFERR_*_MASK) the model can set. */
const PFERR_PRESENT = 0x1;
const PFERR_WRITE = 0x2;
const PFERR_USER = 0x4;
/**
 * An EPT violation's exit qualification: the access (bit 0 read, bit 1 write),
 * the guest-linear address valid (bit 7) and the access to the final GPA, not
 * to a guest page-table entry (bit 8).
 */
const EPT_QUAL_READ = 0x181;
const EPT_QUAL_WRITE = 0x182;
/** Bits 3 and 5 of the qualification: the EPT entry allowed reads and execution (present, not writable: dirty logging's write protection). */
const EPT_QUAL_ENTRY_RX = 0x8 | 0x20;

function eptQualification(write: boolean, readOnlyEntry: boolean): number {
  return (write ? EPT_QUAL_WRITE : EPT_QUAL_READ) | (readOnlyEntry ? EPT_QUAL_ENTRY_RX : 0);
}

/** VM-exit interruption info of a #PF: valid, hardware exception, error code delivered, vector 14. */
const PF_INTR_INFO = 0x80000b0e;
/** #PF error code bits P and RSVD (0x8): what an access reaching an MMIO SPTE takes under shadow paging. */
const PFERR_PRESENT_RSVD = 0x1 | 0x8;

/**
 * VM-exit interruption info of a kick (KVM acknowledges interrupts on exit, so
 * the exit carries the vector): valid (bit 31), type external interrupt (bits
 * 10:8 = 0), and the vector of the IPI. The model's kicks come from
 * kvm_make_all_cpus_request, which kicks through smp_call_function_many:
 * CALL_FUNCTION_VECTOR (0xfc), or CALL_FUNCTION_SINGLE_VECTOR (0xfb) when it
 * kicks a single CPU, which the exit event does not say: 0xfc, a plausible one.
 */
const KICK_INTR_INFO = 0x80000000 + 0xfc;

/** kvm_exit's fields (VMX): exit qualification as info1, then interruption info and error code. */
function kvmExit(vcpu: number, reason: string, info1: number, intrInfo = 0, errorCode = 0): string {
  return `vcpu ${vcpu} reason ${reason} rip 0x0 info1 0x${pad(info1, 16)} info2 0x${pad(0, 16)} intr_info 0x${pad(intrInfo, 8)} error_code 0x${pad(errorCode, 8)}`;
}

/**
 * KVM_MMU_PAGE_PRINTK, as kvm_mmu_get_page and the kvm_mmu_page_class events
 * (kvm_mmu_prepare_zap_page, kvm_mmu_sync_page, kvm_mmu_unsync_page) print a
 * page: generation, gfn, level, role bits, root count, and sp->unsync as it is
 * when the tracepoint is hit.
 */
function mmuPage(gen: number, gfn: number, level: number, direct: boolean, rootCount: number, unsync: boolean, invalid = false): string {
  return `sp gen ${gen} gfn ${hex(gfn)} l${level} 8-byte q0${direct ? ' direct' : ''} wux${invalid ? ' invalid' : ''} nxe ad root ${rootCount} ${unsync ? 'unsync' : 'sync'}`;
}

/** Seconds with ns digits, right-aligned like trace-cmd's timestamps. */
function secs(ns: number): string {
  const n = Math.round(ns);
  const s = Math.floor(n / 1e9);
  return `${String(s).padStart(5)}.${String(n - s * 1e9).padStart(9, '0')}`;
}

/**
 * A zap's function as tracepoint fields (one word each), for the zaps the
 * kernel has no tracepoint of its own for.
 */
const ZAP_FN: Record<ZapAllHow, string> = {
  kvm_mmu_zap_all_fast: 'fn kvm_mmu_zap_all_fast',
  'kvm_mmu_zap_all (lock-break)': 'fn kvm_mmu_zap_all lock_break 1',
  'zap memslot (rmaps + mmu_page_hash)': 'fn kvm_mmu_zap_memslot walk rmaps,mmu_page_hash',
  'zap memslot (rmaps only)': 'fn kvm_mmu_zap_memslot walk rmaps',
};
