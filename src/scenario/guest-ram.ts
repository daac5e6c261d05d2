import type { Memslot } from '../kvm/memslots.js';
import { inVmmOrder, memslotRegions } from './memslot-rules.js';
import type { Scenario } from './schema.js';

/** Host pages left unmapped between two memslots' host ranges, as a VMM's mmaps leave them. */
export const HVA_GAP_PAGES = 512;

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

  /** The range that holds all of gfns [start, end), if one does (the first such: a memslot at the start before later ones). */
  holding(start: number, end: number): GuestRamRange | undefined {
    return this.ranges.find((r) => r.baseGfn <= start && end <= r.baseGfn + r.npages);
  }
}
