import type { EventStamp, KvmEvent } from '../kvm/events.js';
import type { LockIntervals } from './attach.js';
import { ZapLeftPoints } from './zap-left.js';

/**
 * A zap-all's lock breaks as the run report draws them (threads 000 and 002):
 * the pages its work had left at each break (the lockBreak events' `left`), and
 * who took mmu_lock while the zapper was without it.
 */
export interface LockBreakSeries {
  /**
   * The zap-alls' work left over virtual time: at each zap's begin (its pages), at
   * each lock break, and at its walk's end (kvm_zap_obsolete_pages: what it left
   * unzapped); thinned to at most MAX_POINTS. `holder`: the function that breaks
   * (kvm_zap_obsolete_pages, or the lock-break kvm_mmu_zap_all). Null when no
   * zap-all broke mmu_lock.
   */
  left: { holder: string; timesNs: number[]; pages: number[] } | null;
  /** At each of those lock breaks (its re-take's time), how long the zapper was without mmu_lock, ns; past MAX_POINTS, the longest of each run of breaks. */
  retake: { timesNs: number[]; offNs: number[] };
  /** The zap-alls' lock breaks, and those in which another thread took mmu_lock (from the events). */
  breaks: number;
  breaksYielded: number;
  /**
   * Per thread, the breaks in which it took mmu_lock and its holds that began in
   * them (from the lock's hold intervals), most breaks first.
   */
  takers: { name: string; breaks: number; holds: number }[];
}

/** Points the chart keeps: uPlot draws thousands at ease, but the page carries them. */
const MAX_POINTS = 2000;

/** Which of `n` points a chart keeps: every k-th, k the least that keeps at most MAX_POINTS, and the last. */
function thinned(n: number): (_: unknown, i: number) => boolean {
  const stride = Math.max(1, Math.ceil(n / MAX_POINTS));
  return (_, i) => i % stride === 0 || i === n - 1;
}

/** Records the zap-alls' lock breaks from the events (SeriesSink's). */
export class LockBreakRecorder {
  private readonly times: number[] = [];
  private readonly pages: number[] = [];
  private holder: string | null = null;
  private readonly left = new ZapLeftPoints((ts, pages) => {
    this.times.push(ts);
    this.pages.push(pages);
  });
  /** Each break's time without the lock, ns, parallel to `windows`. */
  private readonly offs: number[] = [];
  /** Each break's [drop, re-take] (ns) and the zapper's thread id, flat triples. */
  private readonly windows: number[] = [];
  private yielded = 0;

  on(ev: KvmEvent, at: EventStamp): void {
    this.left.on(ev, at);
    // Only the zap-alls' breaks carry their figures (they come once the lock is back).
    if (ev.e !== 'lockBreak' || ev.left === undefined || ev.offNs === undefined) return;
    this.holder ??= ev.holder;
    this.windows.push(at.ts - ev.offNs, at.ts, at.tid);
    this.offs.push(ev.offNs);
    if ((ev.others ?? 0) > 0) this.yielded++;
  }

  /** The series, with the takers found among `lock`'s holds (none without them); `names` by thread id. */
  finish(lock: LockIntervals | null, names: readonly string[]): LockBreakSeries {
    const keep = thinned(this.times.length);
    return {
      left: this.holder === null ? null : { holder: this.holder, timesNs: this.times.filter(keep), pages: this.pages.filter(keep) },
      retake: this.retakes(),
      breaks: this.windows.length / 3,
      breaksYielded: this.yielded,
      takers: lock === null ? [] : this.takers(lock, names),
    };
  }

  /** Each break's time without the lock; past MAX_POINTS, the longest of each run of consecutive breaks, so that the chart's peak is the JSON's breakOffMaxNs. */
  private retakes(): LockBreakSeries['retake'] {
    const n = this.offs.length;
    const stride = Math.max(1, Math.ceil(n / MAX_POINTS));
    const timesNs: number[] = [];
    const offNs: number[] = [];
    for (let i = 0; i < n; i += stride) {
      let best = i;
      for (let j = i + 1; j < Math.min(n, i + stride); j++) if (this.offs[j]! > this.offs[best]!) best = j;
      timesNs.push(this.windows[best * 3 + 1]!);
      offNs.push(this.offs[best]!);
    }
    return { timesNs, offNs };
  }

  /** Holds by other threads that began inside a break: the windows are in time order, so a binary search finds each hold's. */
  private takers(lock: LockIntervals, names: readonly string[]): LockBreakSeries['takers'] {
    const w = this.windows;
    const count = w.length / 3;
    if (count === 0) return [];
    const byTid = new Map<number, { breaks: Set<number>; holds: number }>();
    const take = (start: number, tid: number) => {
      let lo = 0;
      let hi = count - 1;
      // The last window that begins at or before `start`.
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (w[mid * 3]! <= start) lo = mid;
        else hi = mid - 1;
      }
      if (w[lo * 3]! > start || start >= w[lo * 3 + 1]! || w[lo * 3 + 2] === tid) return;
      const t = byTid.get(tid) ?? { breaks: new Set<number>(), holds: 0 };
      byTid.set(tid, t);
      t.breaks.add(lo);
      t.holds++;
    };
    const h = lock.holds;
    for (let i = 0; i < h.length; i += 4) take(h[i]!, h[i + 3]!);
    const o = lock.open;
    for (let i = 0; i < o.length; i += 3) take(o[i]!, o[i + 2]!);
    return [...byTid]
      .map(([tid, t]) => ({ tid, name: names[tid] ?? `thread ${tid}`, breaks: t.breaks.size, holds: t.holds }))
      .sort((a, b) => b.breaks - a.breaks || a.tid - b.tid)
      .map(({ name, breaks, holds }) => ({ name, breaks, holds }));
  }
}
