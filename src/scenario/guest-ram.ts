import type { Memslot } from '../kvm/memslots.js';
import { inVmmOrder, memslotRegions } from './memslot-rules.js';
import type { Scenario } from './schema.js';

/** Host pages left unmapped between two memslots' host ranges, as a VMM's mmaps leave them. */
export const HVA_GAP_PAGES = 512;

/** Where the first memslot's host range starts by default, in pages (hva >> 12 of a typical mmap area). */
const FIRST_HVA_PAGE = 0x7f0000000 / 2;

/** The host page each of the scenario's memslots starts at: its hvaPage, else after the previous one's host range and a gap. */
export function initialHvaPages(memslots: readonly { pages: number; hvaPage?: number | undefined }[]): number[] {
  let next = FIRST_HVA_PAGE;
  return memslots.map((m) => {
    const hvaPage = m.hvaPage ?? next;
    next = hvaPage + m.pages + HVA_GAP_PAGES;
    return hvaPage;
  });
}

/**
 * The range of `ranges` at which one host range over gfns [start, end)
 * begins, if there is one: a range holding them all, or a run of ranges that
 * follow on both in gfns and in host pages (one VMA behind several memslots,
 * as RAM below and above 4 GiB); its gfns then translate to host pages from
 * the range's own. One holding them all first, then the first run, as
 * `ranges` are ordered (a memslot at the start before later ones). A host page
 * NaN (not known) follows on from none.
 */
export function hostRangeOver<R extends GuestRamRange>(ranges: readonly R[], start: number, end: number): R | undefined {
  const whole = ranges.find((r) => r.baseGfn <= start && end <= r.baseGfn + r.npages);
  if (whole !== undefined) return whole;
  const byBase = new Map<number, R[]>();
  for (const r of ranges) byBase.set(r.baseGfn, [...(byBase.get(r.baseGfn) ?? []), r]);
  return ranges.find((first) => {
    if (first.baseGfn > start || start >= first.baseGfn + first.npages) return false;
    let cur: R | undefined = first;
    while (cur !== undefined && cur.baseGfn + cur.npages < end) {
      const c: R = cur;
      cur = byBase.get(c.baseGfn + c.npages)?.find((n) => n.hvaPage === c.hvaPage + c.npages);
    }
    return cur !== undefined;
  });
}

/** A gfn range some memslot holds at some time, and the host range behind it. */
export interface GuestRamRange {
  baseGfn: number;
  npages: number;
  hvaPage: number;
}

/**
 * The VMM's guest RAM in host terms. A scenario writes host invalidations in
 * gfns, for its reader; the host works on the host (hva) range behind them,
 * which stays mapped in the VMM whatever KVM's memslots do: a deleted memslot's
 * range can still be invalidated (KVM then finds no memslot for it), a created
 * memslot brings a new range, a moved one keeps its range at new gfns.
 */
export class GuestRam {
  readonly ranges: GuestRamRange[] = [];
  /** Host range start of the memslot each create (by its index in host.memslotChanges) makes. */
  private readonly createdHva = new Map<number, number>();

  /** `laidOut`: the scenario's memslots as laid out at the start; created ones go from `nextHva` on. */
  constructor(scenario: Scenario, laidOut: readonly Memslot[], nextHva: number) {
    const changes = scenario.host.memslotChanges;
    for (const { c, k } of inVmmOrder(changes)) {
      if (c.op !== 'create') continue;
      this.createdHva.set(k, nextHva);
      nextHva += (c.pages ?? 1) + HVA_GAP_PAGES;
    }
    for (const r of memslotRegions(scenario.vm.memslots, changes)) {
      const hvaPage = 'initial' in r.backing ? laidOut[r.backing.initial]!.hvaPage : this.createdHva.get(r.backing.created)!;
      this.ranges.push({ baseGfn: r.baseGfn, npages: r.pages, hvaPage });
    }
  }

  /** Where the VMM maps the memslot that `host.memslotChanges[k]` creates. */
  hvaOfCreate(k: number): number {
    const hva = this.createdHva.get(k);
    if (hva === undefined) throw new RangeError(`host.memslotChanges[${k}] is not a create`);
    return hva;
  }

  /** Where one host range over gfns [start, end) begins, if there is one (hostRangeOver). */
  holding(start: number, end: number): GuestRamRange | undefined {
    return hostRangeOver(this.ranges, start, end);
  }
}
