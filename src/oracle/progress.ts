import type { EventStamp, KvmEvent, Sink } from '../kvm/events.js';

/** Something the run waits for, and since when. */
interface Awaited {
  /** What, described; a fault's and an invalidation's are built when asked (the checker makes a few in every execution). */
  what: string | { vcpu: number; gfn: number } | { invalidation: string };
  since: number;
  /** The thread whose work it awaits (the one that began it). */
  tid: number;
  /** When it began, or when that thread's work toward it last made progress short of completing it (see lowLeft). */
  movedAt: number;
}

/** Awaits `what`, from `at` on, the work of `at`'s thread. */
function awaited(what: Awaited['what'], at: EventStamp): Awaited {
  return { what, since: at.ts, tid: at.tid, movedAt: at.ts };
}

function describeAwaited(a: Awaited): string {
  const w = a.what;
  if (typeof w === 'string') return w;
  return 'invalidation' in w ? `${w.invalidation} invalidation` : `vCPU${w.vcpu}'s fault on gfn 0x${w.gfn.toString(16)}`;
}

/** Keys of awaited events: a kind tag plus the vCPU, slot or thread id (numbers: no string per event). */
const FAULT = 0;
const MEMSLOT = 1 << 20;
const ZAP = 2 << 20;
const APIC = 3 << 20;
const INV = 4 << 20;

/** The event kinds ProgressMonitor reads (one array for all instances: see event-routes.ts). */
const PROGRESS_KINDS: readonly KvmEvent['e'][] = [
  'faultBegin',
  'faultEnd',
  'faultResolved',
  'memslotChange',
  'zapAllBegin',
  'zapAllEnd',
  'lockBreak',
  'spZap',
  'apicReload',
  'invalidateRangeStart',
  'invalidateRangeEnd',
];

/**
 * Tracks the events a run awaits — a fault being resolved, a memslot update or
 * zap completing, an APIC-access reload succeeding, an invalidation ending — so
 * drivers can tell work pending with no progress (a livelock) from idleness.
 * Progress is an awaited event completing, or, for a zap-all that says how many
 * pages it has left (lockBreak's `left`), that number reaching a new low: the
 * fast zap's obsolete pages only go down, however long they take, while the
 * lock-break zap-all's list grows with the vCPUs' new pages (thread 000). So a
 * page the fast zap zaps is progress too, with or without a lock break (a batch
 * larger than the world, zapBatchPages, never breaks). The
 * work a thread makes progress on is everything that thread awaits (the
 * memslot update whose flush the zap is).
 */
export class ProgressMonitor implements Sink {
  private readonly open = new Map<number, Awaited>();
  /**
   * Per vCPU: its last fault that ended without RET_PF_RETRY. The access it was
   * for has not retired while the vCPU's faults say `refault`: a fault fixed over
   * and over, its SPTE taken away again each time before the access re-executes
   * (mmu_sync_children write-protecting a table other vCPUs write), is no progress.
   */
  private readonly fixed = new Map<number, Awaited>();
  /** Per thread doing a zap-all: the fewest pages it has had left so far (made at the first zap-all: most runs have none). */
  private lowLeft: Map<number, number> | null = null;
  /** Threads doing a fast zap (kvm_mmu_zap_all_fast): each page they zap is progress (made with lowLeft). */
  private fastZapping: Set<number> | null = null;
  readonly kinds = PROGRESS_KINDS;

  on(ev: KvmEvent, at: EventStamp): void {
    switch (ev.e) {
      case 'faultBegin': {
        const k = FAULT + ev.vcpu;
        if (this.open.has(k)) return;
        // A refault goes on awaiting the access the fixed fault was for, from its start.
        const fixed = ev.refault ? this.fixed.get(ev.vcpu) : undefined;
        this.open.set(k, fixed ?? awaited({ vcpu: ev.vcpu, gfn: ev.gfn }, at));
        return;
      }
      case 'faultEnd': {
        if (ev.ret.startsWith('retry')) return;
        const k = FAULT + ev.vcpu;
        const a = this.open.get(k);
        if (a !== undefined) this.fixed.set(ev.vcpu, a);
        this.open.delete(k);
        return;
      }
      case 'faultResolved':
        this.open.delete(FAULT + ev.vcpu);
        return;
      case 'memslotChange':
        if (ev.phase === 'begin') this.open.set(MEMSLOT + ev.slot, awaited(`memslot ${ev.slot} ${ev.op}`, at));
        else if (ev.phase === 'done') this.open.delete(MEMSLOT + ev.slot);
        return;
      case 'zapAllBegin':
        this.open.set(ZAP + at.tid, awaited(ev.how, at));
        this.lowLeft ??= new Map();
        this.fastZapping ??= new Set();
        this.lowLeft.set(at.tid, ev.pages);
        if (ev.how === 'kvm_mmu_zap_all_fast') this.fastZapping.add(at.tid);
        return;
      case 'zapAllEnd':
        this.open.delete(ZAP + at.tid);
        this.lowLeft?.delete(at.tid);
        this.fastZapping?.delete(at.tid);
        return;
      case 'spZap':
        if (this.fastZapping?.has(at.tid) === true) this.moved(at);
        return;
      case 'lockBreak':
        if (ev.left !== undefined && ev.left < (this.lowLeft?.get(at.tid) ?? Number.POSITIVE_INFINITY)) {
          this.lowLeft ??= new Map();
          this.lowLeft.set(at.tid, ev.left);
          this.moved(at);
        }
        return;
      case 'apicReload': {
        const k = APIC + ev.vcpu;
        if (ev.outcome === 'retry') {
          if (!this.open.has(k)) this.open.set(k, awaited(`vCPU${ev.vcpu}'s APIC-access page reload`, at));
        } else this.open.delete(k);
        return;
      }
      case 'invalidateRangeStart':
        this.open.set(INV + at.tid, awaited({ invalidation: ev.kind }, at));
        return;
      case 'invalidateRangeEnd':
        this.open.delete(INV + at.tid);
        return;
      default:
        return;
    }
  }

  /** Everything the thread of `at` awaits made progress now. */
  private moved(at: EventStamp): void {
    for (const a of this.open.values()) if (a.tid === at.tid) a.movedAt = at.ts;
  }

  /**
   * The awaited event that has gone longest without progress, with the time since
   * its last progress (`ageNs`) and since it began (`pendingNs`) at `now`, or null.
   */
  oldest(now: number): { what: string; ageNs: number; pendingNs: number } | null {
    let best: Awaited | null = null;
    for (const a of this.open.values()) if (best === null || a.movedAt < best.movedAt) best = a;
    return best === null ? null : { what: describeAwaited(best), ageNs: now - best.movedAt, pendingNs: now - best.since };
  }

  /**
   * Everything outstanding, described, with its age at `now`; without ages when
   * `now` is null (the checker: each thread keeps its own clock, so one thread's
   * time less another's is no age).
   */
  describe(now: number | null): string | null {
    if (this.open.size === 0) return null;
    return [...this.open.values()].map((a) => `${describeAwaited(a)} pending${now === null ? '' : ` for ${now - a.since} ns`}`).join('; ');
  }
}
