import type { KvmEvent } from '../kvm/events.js';

/**
 * The page references get_user_pages took and the model has not modelled the
 * release of: a vCPU's fault holds the pfn it looked up from its `gup` event
 * to its `faultEnd` (the kernel releases it at the end of the fault, installed
 * or not), an APIC-access reload from its `gup` to its `apicReload` (the
 * kernel puts the page once APIC_ACCESS_ADDR is written, or the reload
 * re-requested). The model's host frees a page as soon as its invalidation
 * has zapped it, held or not (docs/model-limits.md, "Page references"): with
 * this, the step log and the oracle say so where that matters.
 */
export class GupRefs {
  /** The pfn each vCPU holds a reference to, by vCPU id. */
  private readonly held = new Map<number, number>();

  /** The event kinds that take or release a reference. */
  static readonly KINDS: readonly KvmEvent['e'][] = ['gup', 'faultEnd', 'apicReload'];

  /** Follows an event; false when it is none of KINDS. */
  on(ev: KvmEvent): boolean {
    switch (ev.e) {
      case 'gup':
        this.held.set(ev.vcpu, ev.pfn);
        return true;
      case 'faultEnd':
      case 'apicReload':
        this.held.delete(ev.vcpu);
        return true;
      default:
        return false;
    }
  }

  /** The vCPUs holding a reference to `pfn`, in id order. */
  holders(pfn: number): number[] {
    const ids: number[] = [];
    for (const [vcpu, p] of this.held) if (p === pfn) ids.push(vcpu);
    return ids.sort((a, b) => a - b);
  }
}

/** vCPU ids as a counterexample names them: "vCPU0", "vCPU0 and vCPU1". */
export function vcpuNames(ids: readonly number[]): string {
  const names = ids.map((id) => `vCPU${id}`);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** The end of every heldFreeNote. */
const HELD_FREE_TAIL = 'the reference get_user_pages took: the kernel frees it when that goes; the model frees it here, docs/model-limits.md)';

/** What the step log adds to a host free of a page `holders` still hold a reference to. */
export function heldFreeNote(holders: readonly number[]): string {
  return ` (${vcpuNames(holders)} still ${holders.length === 1 ? 'holds' : 'hold'} ${HELD_FREE_TAIL}`;
}

const HELD_FREE_NOTE = new RegExp(` \\([^()]* still holds? ${HELD_FREE_TAIL.replace(/[.()]/g, '\\$&')}$`);

/**
 * An event's text without the heldFreeNote it may end with: whether another
 * thread still holds the page depends on the interleaving, as the lock notes
 * do, so whoever compares what a thread did across interleavings (the audit)
 * compares the text without it.
 */
export function withoutHeldFreeNote(event: string): string {
  return event.replace(HELD_FREE_NOTE, '');
}
