/**
 * A vCPU's TLB entry as its gfn → entry map holds it: the pfn the translation
 * reaches, and whether it allows writes. The hardware fills an entry with the
 * leaf's permissions and checks a write against them; a write through an entry
 * that allows none walks the tables again. An entry that allows writes outlives
 * a write protection of its gfn until a flush, as it outlives a zap: what
 * kvm_mmu_remote_flush_or_zap after write-protecting is for.
 *
 * One number per entry: the pfn when writable, -1 - pfn (negative) when not.
 */

export function tlbEntry(pfn: number, writable: boolean): number {
  return writable ? pfn : -1 - pfn;
}

export function tlbEntryPfn(entry: number): number {
  return entry < 0 ? -1 - entry : entry;
}

export function tlbEntryWritable(entry: number): boolean {
  return entry >= 0;
}
