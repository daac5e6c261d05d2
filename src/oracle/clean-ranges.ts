/** One open invalidation whose start was checked clean. */
interface CleanRange {
  tid: number;
  start: number;
  end: number;
  /** A vCPU may have put a page of the range in its TLB since the check. */
  touched: boolean;
}

/**
 * The hva ranges of open invalidations whose start was checked clean (no SPTE
 * and no usable TLB entry for any of their pages), each with whether a vCPU may
 * have put one of their pages in its TLB since. A TLB is filled only by a guest
 * access through the SPTEs, and an entry kept across a pending flush becomes
 * usable only by entering the guest without flushing. While neither happened,
 * a page of the range is in no usable TLB, so the oracle need not look through
 * every vCPU's when the host frees it (a big invalidation frees thousands).
 */
export class CleanRanges {
  private readonly open: CleanRange[] = [];

  /** Thread `tid`'s invalidate_range_start of [start, end) returned and was checked clean. */
  opened(tid: number, start: number, end: number): void {
    this.open.push({ tid, start, end, touched: false });
  }

  /** Thread `tid`'s invalidation of [start, end) ended. */
  closed(tid: number, start: number, end: number): void {
    const i = this.open.findIndex((r) => r.tid === tid && r.start === start && r.end === end);
    if (i >= 0) this.open.splice(i, 1);
  }

  /** A vCPU filled its TLB with the page at `hva`. */
  filled(hva: number): void {
    for (const r of this.open) if (hva >= r.start && hva < r.end) r.touched = true;
  }

  /** A vCPU entered the guest with a TLB flush still pending: its old entries are usable again. */
  enteredUnflushed(): void {
    for (const r of this.open) r.touched = true;
  }

  /** No usable TLB can hold the page at `hva`. */
  tlbsClean(hva: number): boolean {
    for (const r of this.open) if (!r.touched && hva >= r.start && hva < r.end) return true;
    return false;
  }
}
