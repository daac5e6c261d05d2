import type { KvmEvent } from '../kvm/events.js';
import { INVALID_GPA } from '../kvm/kvm.js';
import { gfnRange, type SpanArgs } from './spans.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * The fields an instant of the Perfetto trace carries besides its name (its
 * kind: instant-names.ts), `event`, `step` and `text` (the event described): for the events whose line is a
 * summary of several values (a check's inputs and verdict, a write's pages,
 * a lookup's memslot), those values one by one, so that a query or the
 * details pane can read them. Gfns in hex, as the text prints them; lists
 * joined, as args hold no arrays here. Empty for the other events.
 */
export function instantArgs(ev: KvmEvent): SpanArgs {
  switch (ev.e) {
    case 'apicRetryCheck':
      return {
        vcpu: ev.vcpu,
        gfn: hex(ev.gfn),
        mmuInvalidateInProgress: ev.inProgress,
        ...(ev.inProgress > 0 ? { range: gfnRange(ev.rangeStart, ev.rangeEnd) } : {}),
        mmuInvalidateSeq: ev.seq,
        snapshot: ev.snapshot,
        retry: ev.retry,
        ...(ev.ignored ? { ignored: true } : {}),
      };
    case 'precheck':
      return {
        vcpu: ev.vcpu,
        gfn: hex(ev.gfn),
        afterGup: ev.afterGup,
        mmuInvalidateInProgress: ev.inProgress,
        ...(ev.kept ? { kept: true } : {}),
        ...(ev.inProgress > 0 && ev.rangeStart !== INVALID_GPA ? { range: gfnRange(ev.rangeStart, ev.rangeEnd) } : {}),
        mmuInvalidateSeq: ev.seq,
        snapshot: ev.snapshot,
        retry: ev.retry,
      };
    case 'workloadPhase':
      return {
        vcpu: ev.vcpu,
        phase: ev.phase,
        ...(ev.byAccess ? { startAccess: ev.start } : { startNs: ev.start }),
        pattern: ev.pattern,
        gfns: gfnRange(ev.gfnStart, ev.gfnStart + ev.gfnCount),
      };
    case 'fastPageFault':
      return {
        vcpu: ev.vcpu,
        gfn: hex(ev.gfn),
        ret: ev.ret,
        retries: ev.retries,
        ...(ev.notPresent !== undefined ? { notPresent: ev.notPresent, accessTracked: ev.accessTracked === true } : {}),
      };
    case 'trackWrite':
      return {
        gfn: hex(ev.gfn),
        entries: `[${ev.index},${ev.through})`,
        ...(ev.noShadowPages
          ? { noShadowPages: true }
          : {
              updated: ev.updated.map((sp) => `sp ${sp}`).join(', '),
              writeFlooding: ev.floodingCounts.map((n) => (n < 0 ? '-' : String(n))).join(', '),
              sptesZapped: ev.dropped,
              flooded: ev.flooded.map((sp) => `sp ${sp}`).join(', '),
            }),
      };
    case 'zapResumed':
      return {
        holder: ev.holder,
        root: ev.root,
        end: ev.end < Number.MAX_SAFE_INTEGER ? hex(ev.end) : 'max',
        flushPending: ev.flushPending,
      };
    case 'mutantActed':
      return { mutant: ev.mutant };
    case 'dirtyLogClear':
      return {
        n: ev.n,
        phase: ev.phase,
        mask: ev.mask.map(hex).join(', '),
        ...(ev.phase === 'read' ? { read: ev.gfns.map(hex).join(', ') } : { cleared: ev.gfns.map(hex).join(', ') }),
        ...(ev.phase === 'returned' ? { flush: ev.flush } : {}),
        ...(ev.lost !== undefined ? { lost: ev.lost.map(hex).join(', ') } : {}),
        ...(ev.plain ? { plain: true } : {}),
      };
    case 'ageSpteRead':
      return {
        ...(ev.sp !== undefined ? { sp: ev.sp } : { root: ev.root }),
        gfn: hex(ev.gfn),
        pfn: hex(ev.pfn),
        young: ev.young,
        ...(ev.noAd ? { noAdBits: true } : {}),
      };
    case 'ageSpteMark':
      return {
        root: ev.root,
        gfn: hex(ev.gfn),
        pfn: hex(ev.pfn),
        now: ev.curPfn < 0 ? 'not present' : `${hex(ev.curPfn)}${ev.curTracked ? ' access-tracked' : ''}`,
        stored: ev.ok,
        ...(ev.plain ? { plainStore: true } : {}),
      };
    case 'ageSpte':
      return {
        root: ev.root,
        gfn: hex(ev.gfn),
        pfn: hex(ev.pfn),
        now: ev.curPfn < 0 ? 'not present' : hex(ev.curPfn),
        ...(ev.plain ? { plainStore: true } : {}),
      };
    case 'folioReferenced':
      return { hvaStart: hex(ev.hvaStart * 4096), hvaEnd: hex(ev.hvaEnd * 4096), young: ev.young };
    case 'lockBreak':
      // A zap-all's (threads 000, 002): its work left, the acquisitions by others in the break, the time to the re-take.
      return ev.offNs === undefined
        ? {}
        : { holder: ev.holder, ...(ev.left !== undefined ? { pagesLeft: ev.left } : {}), othersTook: ev.others ?? 0, retakenAfterNs: ev.offNs };
    case 'memslotLookup':
      return { vcpu: ev.vcpu, by: ev.by, gfn: hex(ev.gfn), slot: ev.slot >= 0 ? ev.slot : 'none', invalid: ev.invalid };
    default:
      return {};
  }
}
