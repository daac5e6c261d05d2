/**
 * The host's side of guest memory: a page table from host virtual page (hva >> 12)
 * to pfn, and a pfn allocator that remembers what it freed. A freed pfn is poison:
 * a guest access that reaches one is a use-after-free.
 */
export class HostMm {
  /** hva page → pfn of the present PTEs. */
  private readonly pte = new Map<number, number>();
  /** Pfns freed so far, with the hva they backed and when. */
  readonly freed = new Map<number, { hva: number; timeNs: number; kind: string }>();
  private nextPfn = 0x1000;
  /**
   * hva ranges [start, end) the host is changing (pages locked, migration entries
   * or PROT_NONE PTEs installed): get_user_pages on them waits until the host
   * operation ends.
   */
  private readonly busy: { start: number; end: number }[] = [];

  /** The host starts changing [start, end). */
  lockRange(start: number, end: number): void {
    this.busy.push({ start, end });
  }
  /** The host finished changing [start, end). */
  unlockRange(start: number, end: number): void {
    const i = this.busy.findIndex((r) => r.start === start && r.end === end);
    if (i >= 0) this.busy.splice(i, 1);
  }
  /** Whether get_user_pages on `hva` must wait for the host. */
  isBusy(hva: number): boolean {
    for (const r of this.busy) if (hva >= r.start && hva < r.end) return true;
    return false;
  }

  /** The pfn the host maps at `hva`, or -1. */
  lookup(hva: number): number {
    return this.pte.get(hva) ?? -1;
  }

  /** get_user_pages: the pfn at `hva`, faulting a fresh page in when none is mapped. */
  faultIn(hva: number): { pfn: number; major: boolean } {
    const pfn = this.pte.get(hva);
    if (pfn !== undefined) return { pfn, major: false };
    const fresh = this.allocPfn();
    this.pte.set(hva, fresh);
    return { pfn: fresh, major: true };
  }

  allocPfn(): number {
    return this.nextPfn++;
  }

  /** Changes the PTE at `hva` (newPfn < 0 unmaps); returns the old pfn or -1. */
  setPte(hva: number, newPfn: number): number {
    const old = this.pte.get(hva) ?? -1;
    if (newPfn < 0) this.pte.delete(hva);
    else this.pte.set(hva, newPfn);
    return old;
  }

  free(pfn: number, hva: number, timeNs: number, kind: string): void {
    this.freed.set(pfn, { hva, timeNs, kind });
  }

  isFreed(pfn: number): boolean {
    return this.freed.has(pfn);
  }

  /** Present PTEs, for memory accounting. */
  get mappedPages(): number {
    return this.pte.size;
  }
}
