import { CHUNK_ENTRIES, giveChunks, takeChunk } from '../runtime/chunk-pool.js';
import { SectionArray } from '../runtime/section-array.js';

/** The first pfn the allocator hands out. */
const FIRST_PFN = 0x1000;

/** What the host did with a freed pfn. */
export interface FreedPfn {
  hva: number;
  timeNs: number;
  kind: string;
  /** The thread that freed it (apic-migrate, migrate0.1, ...), which the kind alone does not name; the kind past 255 threads. */
  by: string;
}

/**
 * The set of freed pfns, with the hva each backed, when and by whom. Pfns are
 * allocated densely from `base`, so the record is kept in typed arrays indexed
 * by pfn (a few bytes per freed page, no object per page, SectionArray); `get`
 * builds the record only when asked, which the oracle does on a violation.
 */
export class FreedPfns {
  private readonly hva: SectionArray<Float64Array>;
  private readonly time: SectionArray<Float64Array>;
  /** 0 = not freed; otherwise 1 + index into `kinds`. */
  private readonly kind: SectionArray<Uint8Array>;
  private readonly kinds: string[] = [];
  /** 0 = not known (past 255 threads); otherwise 1 + index into `bys`. */
  private readonly by: SectionArray<Uint8Array>;
  private readonly bys: string[] = [];
  size = 0;

  constructor(base: number) {
    this.hva = new SectionArray(base, Float64Array);
    this.time = new SectionArray(base, Float64Array);
    this.kind = new SectionArray(base, Uint8Array);
    this.by = new SectionArray(base, Uint8Array);
  }

  add(pfn: number, hva: number, timeNs: number, kind: string, by: string): void {
    if (this.kind.get(pfn) === 0) this.size++;
    let k = this.kinds.indexOf(kind);
    if (k < 0) k = this.kinds.push(kind) - 1;
    this.kind.set(pfn, k + 1);
    let b = this.bys.indexOf(by);
    if (b < 0 && this.bys.length < 255) b = this.bys.push(by) - 1;
    this.by.set(pfn, b + 1);
    this.hva.set(pfn, hva);
    this.time.set(pfn, timeNs);
  }

  has(pfn: number): boolean {
    return this.kind.get(pfn) !== 0;
  }

  get(pfn: number): FreedPfn | undefined {
    const k = this.kind.get(pfn);
    if (k === 0) return undefined;
    const kind = this.kinds[k - 1]!;
    return { hva: this.hva.get(pfn), timeNs: this.time.get(pfn), kind, by: this.bys[this.by.get(pfn) - 1] ?? kind };
  }
}

const CHUNK = CHUNK_ENTRIES;

/**
 * hva page → pfn, as a sparse table of 512-entry Int32Array chunks (one per 2 MiB
 * of host address space touched; an entry holds pfn + 1, 0 = not present), so a
 * guest of any size costs memory only for the pages it maps.
 */
class PteTable {
  private readonly chunks = new Map<number, Int32Array>();
  size = 0;

  /** The pfn at `hva`, or -1. */
  get(hva: number): number {
    const c = this.chunks.get(Math.floor(hva / CHUNK));
    return c === undefined ? -1 : c[hva & (CHUNK - 1)]! - 1;
  }

  set(hva: number, pfn: number): void {
    const k = Math.floor(hva / CHUNK);
    let c = this.chunks.get(k);
    if (c === undefined) {
      c = takeChunk();
      this.chunks.set(k, c);
    }
    const i = hva & (CHUNK - 1);
    if (c[i] === 0) this.size++;
    c[i] = pfn + 1;
  }

  /** Hands the chunks back to the pool: the table is unusable afterwards. */
  dispose(): void {
    giveChunks(this.chunks.values());
    this.chunks.clear();
    this.size = 0;
  }

  delete(hva: number): void {
    const c = this.chunks.get(Math.floor(hva / CHUNK));
    if (c === undefined) return;
    const i = hva & (CHUNK - 1);
    if (c[i] !== 0) this.size--;
    c[i] = 0;
  }
}

/**
 * The host's side of guest memory: a page table from host virtual page (hva >> 12)
 * to pfn, and a pfn allocator that remembers what it freed. A freed pfn is poison:
 * a guest access that reaches one is a use-after-free.
 */
export class HostMm {
  /** hva page → pfn of the present PTEs. */
  private readonly pte = new PteTable();
  /** Pfns freed so far, with the hva they backed and when. */
  readonly freed = new FreedPfns(FIRST_PFN);
  private nextPfn = FIRST_PFN;
  /**
   * By pfn, the page references get_user_pages took for the vCPUs (Vcpu.holdPage)
   * and not put yet: the page's refcount, as far as the model keeps one. Who
   * holds them is the vCPUs' (Vcpu.gupPfn); the count spares a look at every
   * vCPU at every free of a page no one holds (pageHolders).
   */
  private readonly gupRefs = new SectionArray(FIRST_PFN, Int32Array);
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
  /**
   * Folios locked by a host operation (folio_lock), as hva ranges [start, end):
   * only where reclaim ages pages (Kvm.folioLocking). The model takes a range as
   * one folio.
   */
  private readonly folios: { start: number; end: number }[] = [];

  /** Whether some page of [start, end) is in a locked folio. */
  folioLocked(start: number, end: number): boolean {
    for (const r of this.folios) if (start < r.end && r.start < end) return true;
    return false;
  }
  /** folio_trylock of [start, end): false, and nothing locked, when some page of it is locked. */
  folioTrylock(start: number, end: number): boolean {
    if (this.folioLocked(start, end)) return false;
    this.folios.push({ start, end });
    return true;
  }
  /** folio_unlock of [start, end). */
  folioUnlock(start: number, end: number): void {
    const i = this.folios.findIndex((r) => r.start === start && r.end === end);
    if (i >= 0) this.folios.splice(i, 1);
  }

  /** Whether get_user_pages on `hva` must wait for the host. */
  isBusy(hva: number): boolean {
    for (const r of this.busy) if (hva >= r.start && hva < r.end) return true;
    return false;
  }

  /** The pfn the host maps at `hva`, or -1. */
  lookup(hva: number): number {
    return this.pte.get(hva);
  }

  /** get_user_pages: the pfn at `hva`, faulting a fresh page in when none is mapped. */
  faultIn(hva: number): { pfn: number; major: boolean } {
    const pfn = this.pte.get(hva);
    if (pfn >= 0) return { pfn, major: false };
    const fresh = this.allocPfn();
    this.pte.set(hva, fresh);
    return { pfn: fresh, major: true };
  }

  allocPfn(): number {
    return this.nextPfn++;
  }

  /** Changes the PTE at `hva` (newPfn < 0 unmaps); returns the old pfn or -1. */
  setPte(hva: number, newPfn: number): number {
    const old = this.pte.get(hva);
    if (newPfn < 0) this.pte.delete(hva);
    else this.pte.set(hva, newPfn);
    return old;
  }

  /** get_page for get_user_pages: one more reference to `pfn` held. */
  getPage(pfn: number): void {
    this.gupRefs.set(pfn, this.gupRefs.get(pfn) + 1);
  }

  /** put_page of a reference getPage took. */
  putPage(pfn: number): void {
    this.gupRefs.set(pfn, this.gupRefs.get(pfn) - 1);
  }

  /** The references to `pfn` that get_user_pages took and that are not put yet. */
  pageRefs(pfn: number): number {
    return this.gupRefs.get(pfn);
  }

  free(pfn: number, hva: number, timeNs: number, kind: string, by: string): void {
    this.freed.add(pfn, hva, timeNs, kind, by);
  }

  isFreed(pfn: number): boolean {
    return this.freed.has(pfn);
  }

  /** Returns the page-table memory for reuse by the next instance. */
  dispose(): void {
    this.pte.dispose();
  }

  /** Present PTEs, for memory accounting. */
  get mappedPages(): number {
    return this.pte.size;
  }
}
