import { type EventStamp, hvaText, type KvmEvent, type Sink } from '../kvm/events.js';
import type { FreedPfn } from '../kvm/host-mm.js';
import type { Kvm } from '../kvm/kvm.js';
import { APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, gfnToHva, hvaToGfn, KVM_MEMSLOT_INVALID } from '../kvm/memslots.js';
import { KVM_REQ_APIC_PAGE_RELOAD, KVM_REQ_TLB_FLUSH, TLB_FLUSH_REQUESTS } from '../kvm/requests.js';
import { tlbEntryPfn, tlbEntryWritable } from '../kvm/tlb-entry.js';
import { EXITING_GUEST_MODE, IN_GUEST_MODE, type Vcpu } from '../kvm/vcpu.js';
import { fmtNs } from '../runtime/duration.js';
import type { Violation } from '../runtime/instance.js';
import { CleanRanges } from './clean-ranges.js';
import { backsOff, heldFate, pageHolders, vcpuNames } from './gup-refs.js';

const hex = (n: number) => `0x${n.toString(16)}`;

function describeAccess(ev: KvmEvent & { e: 'guestAccess' }): string {
  return `vCPU${ev.vcpu} ${ev.write ? 'wrote' : 'read'} gfn ${hex(ev.gfn)} through its ${ev.via === 'tlb' ? 'TLB' : 'SPTEs'} and reached pfn ${hex(ev.pfn)}`;
}

/** Where the model parts from the kernel when a page freed is still referenced. */
const PAGE_REFERENCES = 'docs/model-limits.md, "Page references"';

/** How a report names a host free: `unmapped` when vCPUs still held a reference to the page (see heldSuffix). */
function freedVerb(held: readonly number[]): string {
  return held.length > 0 ? 'unmapped' : 'freed';
}

/**
 * For a free (by `kind`) of a page vCPUs still held a get_user_pages reference to: what the
 * kernel would do instead (reclaim frees it only when that goes; migration backs off).
 */
function heldSuffix(held: readonly number[], kind: string): string {
  if (held.length === 0) return '';
  return ` (${vcpuNames(held)} still ${held.length === 1 ? 'holds' : 'hold'} the reference get_user_pages took: ${heldFate(kind, 'here')}: docs/model-limits.md, "Page references")`;
}

/** A page the host freed while vCPUs held a get_user_pages reference to it: who held it, and the thread that unmapped it. */
interface HeldFree {
  held: readonly number[];
  by: string;
}

/** The event kinds Oracle reads (one array for all instances: see event-routes.ts). */
const ORACLE_KINDS: readonly KvmEvent['e'][] = [
  'guestAccess',
  'invalidateRangeStartDone',
  'invalidateRangeEnd',
  'pfnFree',
  'vmEntry',
  'rootAlloc',
  'rootPut',
  'rootFree',
  'spZap',
  'spFree',
  'zapAllEnd',
  'memslotChange',
  'gfnWriteProtected',
  'mmioCheck',
  'dirtyLogCopy',
  'markPageDirty',
  'dirtyRingPush',
];

/** A guest write to a gfn of the logged slot that no copy of the page has come after yet (Oracle.uncovered). */
interface UncoveredWrite {
  vcpu: number;
  via: 'tlb' | 'spte';
  pfn: number;
  /**
   * The access is one a fault let through (re-executed after it, or resolved
   * meanwhile), and whether that fault marked the gfn dirty; null: no fault.
   */
  fault: { marked: boolean } | null;
  /** Virtual time of the write, ns. */
  ts: number;
}

/**
 * DESIGN.md's safety properties, checked as events happen rather than by
 * rescanning the world each step:
 *  1. no stale translation — at each guest access, when invalidate_range_start
 *     returns, when the host frees a page, and when KVM starts relying on a
 *     guest table's write protection (no writable TLB entry of it left);
 *  2. no use of a freed or obsolete root — at VM-entry;
 *  3. no stale APIC-access address — at VM-entry and when the host frees a page;
 *  4. accounting — after root and shadow-page changes;
 *  5. no obsolete shadow page outlives a fast zap unzapped — when it returns;
 *  6. no stale MMIO SPTE — when the MMIO fast path trusts one;
 *  7. no lost dirty write — at the end of a run (finish), for the guest writes
 *     to a slot whose writes are logged that no copy of the page came after.
 */
export class Oracle implements Sink {
  readonly kinds = ORACLE_KINDS;
  /** Open invalidations whose pages no usable TLB can hold (see CleanRanges). */
  private readonly clean = new CleanRanges();
  /** The vCPUs that held a reference to a pfn when the host freed it, and who freed it, by pfn (none: not there). */
  private readonly heldAtFree = new Map<number, HeldFree>();
  /**
   * By gfn of the logged slot, the first guest write to it (since logging was
   * enabled) that no copy of the page by the VMM has come after yet: a copy
   * forgets it. Judged at the end of the run (checkDirtyLoggedAtEnd).
   */
  private readonly uncovered = new Map<number, UncoveredWrite>();
  /** By vCPU: the gfn it last marked dirty since its last guest access (its fault's mark, for the report). */
  private readonly markedSinceAccess = new Map<number, number>();
  /** By gfn: the push (its vCPU and gfn) that overwrote the gfn's uncollected ring entry, until the gfn is pushed again (dirty-ring-no-soft-full-exit). */
  private readonly overwritten = new Map<number, { vcpu: number; by: number }>();

  constructor(
    private readonly kvm: Kvm,
    readonly violations: Violation[],
  ) {}

  /** The stamp of the event being checked: a violation is reported at its time and step, on its thread. */
  private at: EventStamp = { ts: 0, step: 0, tid: -1 };

  private report(kind: string, message: string): void {
    const at = this.at;
    const t = this.kvm.rt.threads[at.tid];
    this.violations.push({ kind, thread: t?.name ?? 'host', timeNs: at.ts, step: at.step, message });
  }

  /**
   * When a pfn was freed, in the simulator's virtual time. Not in the checker's:
   * each of its threads keeps its own clock, so a time would not place the free
   * in the interleaving, which prints the free as a step of its own.
   */
  private when(freed: FreedPfn): string {
    return this.kvm.rt.localTime ? '' : ` at ${fmtNs(freed.timeNs)}`;
  }

  private threadName(): string {
    return this.kvm.rt.threads[this.at.tid]?.name ?? '?';
  }

  /**
   * What a report says of a freed pfn: that the thread `freed.by` freed it, or, when a
   * vCPU still held the reference get_user_pages took, that the thread named
   * unmapped it, and what the kernel would do instead: reclaim frees the page
   * only when that reference goes, migration backs off and maps the old page
   * back; the model frees it at once (docs/model-limits.md, "Page references").
   */
  private freedText(pfn: number, freed: FreedPfn): string {
    const h = this.heldAtFree.get(pfn);
    if (h === undefined) return `which ${freed.by} freed${this.when(freed)}`;
    return `which ${h.by} unmapped${this.when(freed)} while ${vcpuNames(h.held)} held the reference get_user_pages took (${heldFate(freed.kind, 'at once')}: ${PAGE_REFERENCES})`;
  }

  on(ev: KvmEvent, at: EventStamp): void {
    this.at = at;
    switch (ev.e) {
      case 'guestAccess':
        this.checkAccess(ev);
        return;
      case 'invalidateRangeStartDone':
        if (this.checkRangeUnmapped(ev.hvaStart, ev.hvaEnd, `${ev.kind}'s invalidate_range_start returned`)) {
          this.clean.opened(at.tid, ev.hvaStart, ev.hvaEnd);
        }
        return;
      case 'invalidateRangeEnd':
        this.clean.closed(at.tid, ev.hvaStart, ev.hvaEnd);
        return;
      case 'pfnFree': {
        const held = pageHolders(this.kvm, ev.pfn);
        if (held.length > 0) this.heldAtFree.set(ev.pfn, { held, by: this.threadName() });
        else this.heldAtFree.delete(ev.pfn);
        this.checkFreedPfn(ev, held);
        return;
      }
      case 'gfnWriteProtected':
        this.checkWriteProtected(ev);
        return;
      case 'mmioCheck':
        if (ev.match) this.checkMmioEmulated(ev);
        return;
      case 'dirtyRingPush':
        this.overwritten.delete(ev.gfn);
        if (ev.overwrote !== undefined) this.overwritten.set(ev.overwrote, { vcpu: ev.vcpu, by: ev.gfn });
        this.markedSinceAccess.set(ev.vcpu, ev.gfn);
        return;
      case 'markPageDirty':
        this.markedSinceAccess.set(ev.vcpu, ev.gfn);
        return;
      case 'dirtyLogCopy':
        // The copy reads the page with every write before it: none of them is lost.
        this.uncovered.delete(ev.gfn);
        return;
      case 'vmEntry':
        this.checkEntry(ev);
        return;
      case 'zapAllEnd':
        if (ev.how === 'kvm_mmu_zap_all_fast') this.checkObsoleteLeft();
        this.checkAccounting();
        return;
      case 'rootAlloc':
      case 'rootPut':
      case 'rootFree':
      case 'spZap':
      case 'spFree':
      case 'memslotChange':
        this.checkAccounting();
        return;
      default:
        return;
    }
  }

  private checkAccess(ev: KvmEvent & { e: 'guestAccess' }): void {
    const kvm = this.kvm;
    const slot = kvm.memslots.gfnToMemslot(ev.gfn);
    // The description is built only for a report: this runs at every guest access.
    const what = describeAccess;
    if (slot === undefined) {
      this.report('stale-translation', `${what(ev)}, but gfn ${hex(ev.gfn)} is in no memslot any more`);
      return;
    }
    if (ev.write && kvm.dirtyLog !== null) this.noteDirtyWrite(ev);
    if (this.markedSinceAccess.size > 0) this.markedSinceAccess.delete(ev.vcpu);
    const hva = gfnToHva(slot, ev.gfn);
    if (ev.via === 'spte') this.clean.filled(hva);
    const now = kvm.host.lookup(hva);
    if (now === ev.pfn) return;
    const freed = kvm.host.freed.get(ev.pfn);
    const host = `the host maps hva ${hvaText(hva)} to ${now < 0 ? 'nothing' : `pfn ${hex(now)}`}`;
    const h = freed ? this.heldAtFree.get(ev.pfn) : undefined;
    if (freed && h !== undefined) {
      // Reclaim frees the page once the fault's reference goes: a use after free then. Migration
      // would have backed off instead: the model's free is what exposes the use.
      this.report(
        'stale-translation',
        `${what(ev)}; ${host}: ${h.by} unmapped pfn ${hex(ev.pfn)}${this.when(freed)} while ${vcpuNames(h.held)} held the reference get_user_pages took: ${heldFate(freed.kind, 'at once')}${backsOff(freed.kind) ? '' : ', a use after free then'} (${PAGE_REFERENCES})`,
      );
      return;
    }
    const after = freed ? `, ${this.freedText(ev.pfn, freed)} (use after free)` : '';
    this.report('stale-translation', `${what(ev)}${after}; ${host}`);
  }

  /**
   * A vCPU would use the entry without flushing first: it is in the guest, or
   * it will enter with this TLB. Not a vCPU that has finished, nor one outside
   * the guest that flushes before it enters: a TLB flush is pending, or its
   * root is invalid or obsolete, so that it loads a new root, which flushes (the
   * kernel zaps an invalid root's SPTEs with no flush for this reason). A vCPU
   * that would enter on that root instead is reported at its VM-entry.
   */
  private tlbUsable(v: Vcpu): boolean {
    if (v.mode === IN_GUEST_MODE) return true;
    if (v.thread.state === 'done') return false;
    return (v.requests & TLB_FLUSH_REQUESTS) === 0 && !this.kvm.mmu.currentRootObsolete(v);
  }

  /** Reports a mapping left for the range; true when there is none. */
  private checkRangeUnmapped(hvaStart: number, hvaEnd: number, when: string): boolean {
    const kvm = this.kvm;
    for (const r of kvm.memslots.overlapping(hvaStart, hvaEnd)) {
      const found = kvm.mmu.findMapping(r.gfnStart, r.gfnEnd);
      if (found !== null) {
        this.report(
          'stale-translation',
          `${when}, but root ${found.root} still maps gfn ${hex(found.gfn)} → pfn ${hex(found.pfn)}${trackedNote(found)} (range [${hex(r.gfnStart)},${hex(r.gfnEnd)}))`,
        );
        return false;
      }
      for (const v of kvm.vcpus) {
        if (!this.tlbUsable(v)) continue;
        for (const [gfn, entry] of v.tlb) {
          if (gfn >= r.gfnStart && gfn < r.gfnEnd) {
            this.report(
              'stale-translation',
              `${when}, but vCPU${v.id}'s TLB still maps gfn ${hex(gfn)} → pfn ${hex(tlbEntryPfn(entry))} with no flush pending`,
            );
            return false;
          }
        }
      }
    }
    return true;
  }

  /**
   * KVM relies on writes to a guest table trapping from here on: no vCPU that
   * would use its TLB unflushed may still hold a writable translation of the
   * table's gfn, or a write through it changes the table behind the shadow page.
   */
  private checkWriteProtected(ev: KvmEvent & { e: 'gfnWriteProtected' }): void {
    for (const v of this.kvm.vcpus) {
      const entry = v.tlb.get(ev.gfn);
      if (entry === undefined || !tlbEntryWritable(entry) || !this.tlbUsable(v)) continue;
      this.report(
        'stale-translation',
        `${ev.by} write-protected gfn ${hex(ev.gfn)}, a guest page table, but vCPU${v.id}'s TLB still maps it writable (pfn ${hex(tlbEntryPfn(entry))}) with no flush pending: a guest write to the table would not trap`,
      );
      return;
    }
  }

  /**
   * A guest write to gfn G of the logged slot after logging was enabled: the
   * first since G's last copy is remembered, to be judged at the end of the run.
   */
  private noteDirtyWrite(ev: KvmEvent & { e: 'guestAccess' }): void {
    const log = this.kvm.dirtyLog!;
    if (!log.enabled || this.uncovered.has(ev.gfn) || !log.covers(this.kvm.memslots.gfnToMemslot(ev.gfn))) return;
    const v = this.kvm.vcpus[ev.vcpu];
    const faulted = v !== undefined && (v.fixedGfn === ev.gfn || v.faultSince >= 0);
    const fault = faulted ? { marked: this.markedSinceAccess.get(ev.vcpu) === ev.gfn } : null;
    this.uncovered.set(ev.gfn, { vcpu: ev.vcpu, via: ev.via, pfn: ev.pfn, fault, ts: this.at.ts });
  }

  /**
   * Called once the run has ended (Instance.finish): every step it was to take
   * taken, or, in the simulator, its stop reached or its steps cut.
   */
  finish(): void {
    if (this.violations.length > 0 || this.kvm.dirtyLog === null) return;
    this.checkDirtyLoggedAtEnd();
  }

  /**
   * A guest write to gfn G of the logged slot changes the page without a fault.
   * It is in the migrated copy when a copy of G by the VMM came after it (the
   * first full copy after logging was enabled, or that of a harvest that
   * reported G), or will be, when at the end G's copy is still to come, its dirty
   * bit is set (the next harvest reports it), or a mark of it is still to come
   * (fast_page_fault made a leaf of G writable and has not marked G yet:
   * DirtyLog.marking). Otherwise no harvest will report it: the write is lost.
   * Judged at the end, not at the write: a write with G's bit clear is not lost
   * when a mark comes after it (a vCPU's write through the leaf another vCPU's
   * fast_page_fault just made writable, before that vCPU's mark). Under the
   * kernel's protocol each ioctl that clears bits (KVM_GET_DIRTY_LOG, or
   * KVM_CLEAR_DIRTY_LOG under manual protect, whose gfns the VMM copies only
   * after it returns) write-protects the leaves of their gfns and flushes every
   * TLB before it returns; a TLB entry that still allows writes gets past that.
   * With dirty rings, a push of G to a vCPU's ring stands for the bit: G is
   * reported while an entry holds it DIRTY (uncollected) or the VMM holds it
   * collected (DirtyLog.collected, handed to a later copy round: toCopy), and
   * KVM_RESET_DIRTY_RINGS, before that hand-over, write-protects it again.
   */
  private checkDirtyLoggedAtEnd(): void {
    const kvm = this.kvm;
    const log = kvm.dirtyLog!;
    const ring = log.rings !== null;
    for (const [gfn, w] of this.uncovered) {
      if (log.bitmap.has(gfn) || log.toCopy.has(gfn) || log.marking.has(gfn)) continue;
      const slot = kvm.memslots.gfnToMemslot(gfn);
      if (ring && (log.collected.has(gfn) || (slot !== undefined && log.ringHolds(gfn, slot)))) continue;
      const n = log.lastCopyOf(slot, gfn);
      const copied =
        n === undefined
          ? 'none yet'
          : n === 0
            ? 'after KVM_SET_USER_MEMORY_REGION enabled KVM_MEM_LOG_DIRTY_PAGES'
            : ring
              ? `in copy round #${n}, after the dirty rings' collection reported it`
              : `after KVM_GET_DIRTY_LOG #${n} reported it`;
      const over = this.overwritten.get(gfn);
      const overwrote =
        over === undefined ? '' : ` (vCPU${over.vcpu}'s push of gfn ${hex(over.by)} onto its full ring overwrote gfn ${hex(gfn)}'s entry, not yet collected)`;
      const unlogged = ring
        ? `and by the end no dirty ring holds gfn ${hex(gfn)} uncollected${overwrote}, with no copy or mark of it still to come: no collection will report this write`
        : `and by the end gfn ${hex(gfn)}'s dirty bit is clear, with no copy or mark of it still to come: no harvest will report this write`;
      const when = kvm.rt.localTime ? '' : ` at ${fmtNs(w.ts)}`;
      const name = kvm.vcpus[w.vcpu]?.name ?? `vCPU${w.vcpu}`;
      this.violations.push({
        kind: 'lost-dirty-write',
        thread: name,
        timeNs: kvm.rt.now(),
        step: kvm.rt.steps,
        message:
          `vCPU${w.vcpu} wrote gfn ${hex(gfn)} through its ${w.via === 'tlb' ? 'TLB' : 'SPTEs'} and reached pfn ${hex(w.pfn)} ` +
          // A write its fault let through: whether that fault marked the page (fast-pf-no-mark-dirty's did not).
          (w.fault === null
            ? `without a fault${when}, `
            : `after a fault that ${w.fault.marked ? (ring ? 'pushed the page to its dirty ring' : 'marked the page dirty') : ring ? 'did not push the page to a dirty ring' : 'did not mark the page dirty'}${when}, `) +
          `the VMM's last copy of the page coming before it (${copied}), ${unlogged}, and the migrated copy lacks it` +
          (w.via === 'tlb' ? ` (vCPU${w.vcpu}'s TLB entry still allowed writes)` : ''),
      });
      return;
    }
  }

  /**
   * The MMIO fast path emulated gfn G because its MMIO SPTE's generation matched
   * that of the memslots the vCPU just read (kvm.memslots in this step): G must
   * lie in no memslot of that set, or an access to memory is emulated as MMIO.
   *
   * Why the kernel's protocol never trips this: the SPTE's generation g was read
   * under mmu_lock by a fault that had found no memslot for G in set S, inside
   * one SRCU read section. A swap publishes its set with the update-in-progress
   * bit and stores its final generation only after synchronize_srcu, so if g
   * was read final no swap was published between the lookup and that read: g
   * is S's own generation. A check matches only a final generation (the bit
   * says mismatch), and a later set's final generation is larger than g, equal
   * in its low bits only after a wrap, whose fast zap (before that generation is
   * stored) took every MMIO SPTE older than it along. If g was read with the bit
   * set, it is the generation of the set before, and every final generation
   * stored after it is larger: no match until a wrap, as above.
   *
   * All this holds for a generation a fault read. Under shadow paging a sync
   * (sync_mmio_spte, shadow-sync-mmio.ts) stamps an MMIO SPTE again with the
   * generation current then, and looks no memslot up: after a create gave the
   * gfn a memslot, that generation matches (mmio-sync-mini, a finding of the model).
   */
  private checkMmioEmulated(ev: KvmEvent & { e: 'mmioCheck' }): void {
    const slot = this.kvm.memslots.gfnToMemslot(ev.gfn);
    if (slot === undefined) return;
    this.report(
      'stale-mmio',
      `vCPU${ev.vcpu}'s MMIO fast path emulated gfn ${hex(ev.gfn)} (MMIO SPTE generation ${ev.spteGen}, memslots generation ${ev.generation}${ev.inProgress ? ', update in progress' : ''}), but memslot ${slot.id} of those memslots holds it${slot.flags & KVM_MEMSLOT_INVALID ? ' (KVM_MEMSLOT_INVALID: being deleted or moved, where a fault would retry until the update is done)' : ''}: an access to memory emulated as MMIO`,
    );
  }

  private checkApicFree(ev: KvmEvent & { e: 'pfnFree' }, held: readonly number[]): void {
    for (const v of this.kvm.vcpus) {
      if (v.apicAccessPfn === ev.pfn && (v.mode === IN_GUEST_MODE || v.mode === EXITING_GUEST_MODE)) {
        this.report(
          'stale-apic-access',
          `${this.threadName()} ${freedVerb(held)} pfn ${hex(ev.pfn)} while vCPU${v.id} runs in the guest with APIC_ACCESS_ADDR pointing at it${heldSuffix(held, ev.kind)}`,
        );
        return;
      }
    }
  }

  /** `held`: the vCPUs holding a reference to the pfn (gupHolders), for the report's words. */
  private checkFreedPfn(ev: KvmEvent & { e: 'pfnFree' }, held: readonly number[]): void {
    const kvm = this.kvm;
    // APIC_ACCESS_ADDR only ever holds the pfn backing the APIC-access page's hva,
    // so only a page freed there can be one a vCPU points at (checked per freed
    // page: skip the vCPU loop for every other page).
    const apic = kvm.memslots.byId(APIC_ACCESS_PAGE_PRIVATE_MEMSLOT);
    if (apic !== undefined && ev.hva === apic.hvaPage) this.checkApicFree(ev, held);
    if (this.violations.length > 0) return;
    // The gfns the page backs, slot by slot (as overlapping would find them, with no range made per page).
    for (const slot of kvm.memslots.slots) {
      const gfn = hvaToGfn(slot, ev.hva);
      if (gfn < 0) continue;
      const found = kvm.mmu.findMapping(gfn, gfn + 1);
      if (found !== null && found.pfn === ev.pfn) {
        this.report(
          'stale-translation',
          `${this.threadName()} ${freedVerb(held)} pfn ${hex(ev.pfn)} while root ${found.root} maps gfn ${hex(found.gfn)} to it${trackedNote(found)}${heldSuffix(held, ev.kind)}`,
        );
        return;
      }
      if (this.clean.tlbsClean(ev.hva)) continue;
      for (const v of kvm.vcpus) {
        const entry = v.tlb.get(gfn);
        if (entry !== undefined && tlbEntryPfn(entry) === ev.pfn && this.tlbUsable(v)) {
          this.report(
            'stale-translation',
            `${this.threadName()} ${freedVerb(held)} pfn ${hex(ev.pfn)} while vCPU${v.id}'s TLB maps gfn ${hex(gfn)} to it${heldSuffix(held, ev.kind)}`,
          );
          return;
        }
      }
    }
  }

  private checkEntry(ev: KvmEvent & { e: 'vmEntry' }): void {
    const kvm = this.kvm;
    const v = kvm.vcpus[ev.vcpu]!;
    if ((v.requests & (1 << KVM_REQ_TLB_FLUSH)) !== 0) this.clean.enteredUnflushed();
    const problem = kvm.mmu.rootProblem(v);
    if (problem !== null) {
      this.report(
        'obsolete-root',
        `vCPU${v.id} entered the guest ${problem.startsWith('previous root') ? 'with a bad root cached' : 'on a bad root'}: ${problem}`,
      );
      return;
    }
    if (v.apicAccessPfn >= 0) {
      const freed = kvm.host.freed.get(v.apicAccessPfn);
      if (freed) {
        this.report(
          'stale-apic-access',
          `vCPU${v.id} entered the guest with APIC_ACCESS_ADDR pfn ${hex(v.apicAccessPfn)}, ${this.freedText(v.apicAccessPfn, freed)}` +
            ((v.requests & (1 << KVM_REQ_APIC_PAGE_RELOAD)) !== 0
              ? ', with KVM_REQ_APIC_PAGE_RELOAD pending (the late request check cancels such an entry)'
              : ''),
        );
      }
    }
  }

  private checkObsoleteLeft(): void {
    const left = this.kvm.mmu.obsoletePageLeft?.() ?? null;
    if (left !== null) this.report('obsolete-page', `kvm_mmu_zap_all_fast returned with a page of the old generation left: ${left}`);
  }

  private checkAccounting(): void {
    const problems = this.kvm.mmu.checkAccounting();
    if (problems.length > 0) this.report('accounting', problems.join('; '));
  }
}

/**
 * What a report adds of a leaf marked for access tracking (TDP without A/D
 * bits): not present to the hardware, it still maps the pfn, and the guest's
 * next access to it has fast_page_fault restore it without mmu_lock.
 */
function trackedNote(found: { accessTracked?: true }): string {
  return found.accessTracked
    ? " (access-tracked: not present to the hardware, but shadow-present, and fast_page_fault restores it at the guest's next access)"
    : '';
}
