/**
 * The vCPUs still holding the page reference get_user_pages took on `pfn`
 * (Vcpu.gupPfn: a fault until it ends, an APIC-access reload until it writes
 * APIC_ACCESS_ADDR or re-requests), in id order. The model's host frees a page
 * as soon as its invalidation has zapped it, held or not (docs/model-limits.md,
 * "Page references"): with this, the step log and the oracle say so where that
 * matters. Read from the model at the free, so that no sink follows the gup
 * events for it.
 */
export function gupHolders(vcpus: readonly { readonly id: number; readonly gupPfn: number }[], pfn: number): number[] {
  const ids: number[] = [];
  for (const v of vcpus) if (v.gupPfn === pfn) ids.push(v.id);
  return ids;
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
