/**
 * The vCPUs still holding the page reference get_user_pages took on `pfn`
 * (Vcpu.gupPfn: a fault until it ends, an APIC-access reload until it writes
 * APIC_ACCESS_ADDR or re-requests), in id order. The model's host frees a page
 * as soon as its invalidation has zapped it, held or not (docs/model-limits.md,
 * "Page references"): with this, the step log and the oracle say so where that
 * matters. Read from the model at the free, so that no sink follows the gup
 * events for it.
 */
export function gupHolders(vcpus: readonly { readonly id: number; readonly gupPfn: number }[], pfn: number): readonly number[] {
  let ids: number[] | null = null;
  for (const v of vcpus) {
    if (v.gupPfn !== pfn) continue;
    ids ??= [];
    ids.push(v.id);
  }
  // Most pages are freed with no holder (every free asks): no array made for them.
  return ids ?? NO_HOLDERS;
}

const NO_HOLDERS: readonly number[] = Object.freeze([]);

/** gupHolders of a model whose host counts the references per page (HostMm.pageRefs): a page no one holds, most pages, is answered without a look at the vCPUs. */
export function pageHolders(
  model: { readonly vcpus: readonly { readonly id: number; readonly gupPfn: number }[]; readonly host: { pageRefs(pfn: number): number } },
  pfn: number,
): readonly number[] {
  return model.host.pageRefs(pfn) === 0 ? NO_HOLDERS : gupHolders(model.vcpus, pfn);
}

/** vCPU ids as a counterexample names them: "vCPU0", "vCPU0 and vCPU1". */
export function vcpuNames(ids: readonly number[]): string {
  const names = ids.map((id) => `vCPU${id}`);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * What the kernel does with a page a vCPU still holds the get_user_pages
 * reference to, by the host operation (`kind`, InvalidationKind) that unmapped
 * it (docs/model-limits.md, "Page references"): migration (NUMA balancing's
 * too) and KSM's merge count the page's references after unmapping it, find
 * the extra one and back off, mapping the old page back; reclaim unmaps it and
 * frees it only once that reference goes.
 */
export function backsOff(kind: string): boolean {
  return kind === 'migrate' || kind === 'numa' || kind === 'ksm';
}

/** Who backs off (backsOff), as a counterexample names them. */
function backer(kind: string): string {
  return kind === 'ksm' ? 'KSM merge' : kind === 'numa' ? 'NUMA-balancing migration' : 'migration';
}

/**
 * What the kernel would do with the page `kind` unmapped while a reference was held, and what
 * the model did instead, as the step log's free line and the violation put it. `freed`: the
 * model's free is past (a violation) or here (the free line).
 */
export function heldFate(kind: string, freed: 'here' | 'at once'): string {
  const model = freed === 'here' ? 'the model frees it here' : 'the model freed it at once';
  if (backsOff(kind)) return `the kernel's ${backer(kind)} would find that reference and back off, mapping the old page back; ${model} to expose the use`;
  return `the kernel frees the page once that reference goes; ${model}`;
}

/** What the step log adds to a host free (by `kind`) of a page `holders` still hold a reference to. */
export function heldFreeNote(holders: readonly number[], kind: string): string {
  return ` (${vcpuNames(holders)} still ${holders.length === 1 ? 'holds' : 'hold'} the reference get_user_pages took: ${heldFate(kind, 'here')}, docs/model-limits.md)`;
}

const HELD_FREE_NOTE = / \([^()]* still holds? the reference get_user_pages took: [^()]*, docs\/model-limits\.md\)$/;

/**
 * An event's text without the heldFreeNote it may end with: whether another
 * thread still holds the page depends on the interleaving, as the lock notes
 * do, so whoever compares what a thread did across interleavings (the audit)
 * compares the text without it.
 */
export function withoutHeldFreeNote(event: string): string {
  return event.replace(HELD_FREE_NOTE, '');
}
