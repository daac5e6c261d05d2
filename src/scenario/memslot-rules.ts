/**
 * What KVM_SET_USER_MEMORY_REGION would refuse in a scenario's memslots and
 * their changes: the model does not simulate those failures, so a scenario
 * that relies on one is refused instead (a silent no-op, or two memslots over
 * the same gfns, would run a world the kernel never has).
 */

import { APIC_ACCESS_GFN, APIC_ACCESS_PAGE_PRIVATE_MEMSLOT } from '../kvm/memslots.js';

/** A problem with the scenario's field at `path`. */
export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

interface SlotRange {
  id: number;
  baseGfn: number;
  pages: number;
  /** What it is and why it is there, for a memslot KVM adds itself (messages say "memslot <id>" otherwise). */
  kvm?: { what: string; why: string };
}

interface Change {
  atNs: number;
  op: 'delete' | 'move' | 'create';
  slot: number;
  baseGfn?: number;
  pages?: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The gfns [start, end) as messages print them. */
export function gfnRange(start: number, end: number): string {
  return `[${hex(start)}, ${hex(end)})`;
}

const range = (s: SlotRange) => gfnRange(s.baseGfn, s.baseGfn + s.pages);
/** A slot another one overlaps, as messages name it: "memslot 0's [0x0, 0x40)". */
const described = (s: SlotRange) => (s.kvm === undefined ? `memslot ${s.id}'s ${range(s)}` : `${s.kvm.what} ${range(s)} (${s.kvm.why})`);

/**
 * The memslots KVM adds itself before the VMM's changes: the APIC-access page's
 * private memslot at APIC_DEFAULT_PHYS_BASE when the VM has one. A VMM's memslot
 * over it is refused (EEXIST), which is why VMMs leave a hole at 0xfee00000.
 */
export function privateMemslots(apicAccessPage: boolean): SlotRange[] {
  return apicAccessPage
    ? [
        {
          id: APIC_ACCESS_PAGE_PRIVATE_MEMSLOT,
          baseGfn: APIC_ACCESS_GFN,
          pages: 1,
          kvm: { what: "the APIC-access page's private memslot", why: 'vm.apicAccessPage is true' },
        },
      ]
    : [];
}

/** Memslot changes as the VMM makes them, with their index as written: in time order, ties as written (a stable sort). */
export function inVmmOrder<C extends { atNs: number }>(changes: readonly C[]): { c: C; k: number }[] {
  return changes.map((c, k) => ({ c, k })).sort((a, b) => a.c.atNs - b.c.atNs);
}

/** The slot of `slots` other than `id` whose gfns meet [baseGfn, baseGfn + pages), if any. */
function overlapping(slots: readonly SlotRange[], id: number, baseGfn: number, pages: number): SlotRange | undefined {
  return slots.find((s) => s.id !== id && s.baseGfn < baseGfn + pages && baseGfn < s.baseGfn + s.pages);
}

/**
 * The memslots at the start must have distinct ids and disjoint gfns; each
 * change, taken in time order as the VMM makes them, must find its slot (move,
 * delete) or not (create), and must not land on another slot's gfns (EEXIST).
 */
export function memslotIssues(memslots: readonly SlotRange[], changes: readonly Change[], kvmSlots: readonly SlotRange[] = []): FieldIssue[] {
  return replayMemslotChanges(memslots, changes, kvmSlots).issues;
}

/**
 * Where the VMM's memslots ever are, in gfns: each memslot at the start, then
 * each create and each move (its destination) in time order. A region is
 * backed by one contiguous host range: the initial memslot's, the created
 * one's, or, for a move, the moved memslot's. Assumes the changes are valid
 * (`memslotIssues` is empty).
 */
export function memslotRegions(memslots: readonly SlotRange[], changes: readonly Change[]): MemslotRegion[] {
  return replayMemslotChanges(memslots, changes, []).regions;
}

/** A gfn range a memslot holds at some time, and whose host range backs it. */
export interface MemslotRegion {
  baseGfn: number;
  pages: number;
  /** Backed by the host range of `vm.memslots[k]`, or of the memslot `host.memslotChanges[k]` created. */
  backing: { initial: number } | { created: number };
}

function replayMemslotChanges(
  memslots: readonly SlotRange[],
  changes: readonly Change[],
  kvmSlots: readonly SlotRange[],
): { issues: FieldIssue[]; regions: MemslotRegion[] } {
  const issues: FieldIssue[] = [];
  const regions: MemslotRegion[] = [];
  const result = { issues, regions };
  const ids = new Set<number>();
  memslots.forEach((m, k) => {
    if (ids.has(m.id)) issues.push({ path: ['vm', 'memslots', k, 'id'], message: `memslot id ${m.id} is used twice` });
    ids.add(m.id);
  });
  if (issues.length > 0) return result;
  // Overlaps, in gfn order (thousands of memslots: no pairwise test); the later-written one is named.
  const byGfn = memslots.map((m, k) => ({ m, k })).sort((a, b) => a.m.baseGfn - b.m.baseGfn);
  for (let i = 1; i < byGfn.length; i++) {
    const prev = byGfn[i - 1]!;
    const cur = byGfn[i]!;
    if (cur.m.baseGfn < prev.m.baseGfn + prev.m.pages) {
      const [first, second] = prev.k < cur.k ? [prev, cur] : [cur, prev];
      issues.push({ path: ['vm', 'memslots', second.k, 'baseGfn'], message: `gfns ${range(second.m)} overlap ${described(first.m)}` });
      return result;
    }
  }
  for (const [k, m] of memslots.entries()) {
    const kvmSlot = overlapping(kvmSlots, m.id, m.baseGfn, m.pages);
    if (kvmSlot !== undefined) {
      issues.push({ path: ['vm', 'memslots', k, 'baseGfn'], message: `gfns ${range(m)} overlap ${described(kvmSlot)}; KVM would refuse it (EEXIST)` });
      return result;
    }
  }
  // The VMM's memslots carry where their host range came from (for moves).
  type Live = SlotRange & { backing?: MemslotRegion['backing'] };
  const slots: Live[] = [...kvmSlots, ...memslots.map((m, k) => ({ id: m.id, baseGfn: m.baseGfn, pages: m.pages, backing: { initial: k } }))];
  for (const [k, m] of memslots.entries()) regions.push({ baseGfn: m.baseGfn, pages: m.pages, backing: { initial: k } });
  const order = inVmmOrder(changes);
  for (const { c, k } of order) {
    const at = ['host', 'memslotChanges', k];
    const i = slots.findIndex((s) => s.id === c.slot);
    // Named only in a message: built when one is written.
    const ids = () => {
      const user = slots.filter((s) => s.kvm === undefined);
      return user.length > 8 ? `${user.length} memslots` : `memslots: ${user.map((s) => s.id).join(', ') || 'none'}`;
    };
    if (c.op === 'create') {
      const pages = c.pages ?? 1;
      const baseGfn = c.baseGfn ?? 0;
      if (i >= 0) {
        issues.push({ path: [...at, 'slot'], message: `create of memslot ${c.slot}, which exists then (${ids()}); KVM would refuse it (EINVAL)` });
        continue;
      }
      const clash = overlapping(slots, c.slot, baseGfn, pages);
      if (clash !== undefined) {
        issues.push({
          path: [...at, 'baseGfn'],
          message: `create of memslot ${c.slot} at ${range({ id: c.slot, baseGfn, pages })} overlaps ${described(clash)}; KVM would refuse it (EEXIST)`,
        });
        continue;
      }
      slots.push({ id: c.slot, baseGfn, pages, backing: { created: k } });
      regions.push({ baseGfn, pages, backing: { created: k } });
      continue;
    }
    if (i < 0) {
      issues.push({
        path: [...at, 'slot'],
        message: `${c.op} of memslot ${c.slot}, which does not exist then (${ids()}); KVM would refuse it (EINVAL)`,
      });
      continue;
    }
    if (c.op === 'delete') {
      slots.splice(i, 1);
      continue;
    }
    const moved = { id: c.slot, baseGfn: c.baseGfn ?? 0, pages: slots[i]!.pages };
    if (moved.baseGfn === slots[i]!.baseGfn) {
      issues.push({
        path: [...at, 'baseGfn'],
        message: `move of memslot ${c.slot} to gfn ${hex(moved.baseGfn)}, where it is then: KVM would change nothing (it returns 0 for the same base and flags); expected another baseGfn`,
      });
      continue;
    }
    const clash = overlapping(slots, c.slot, moved.baseGfn, moved.pages);
    if (clash !== undefined) {
      issues.push({
        path: [...at, 'baseGfn'],
        message: `move of memslot ${c.slot} to ${range(moved)} overlaps ${described(clash)}; KVM would refuse it (EEXIST)`,
      });
      continue;
    }
    const backing = slots[i]!.backing!;
    slots[i] = { ...moved, backing };
    regions.push({ baseGfn: moved.baseGfn, pages: moved.pages, backing });
  }
  return result;
}
