/**
 * What a thread announces at a yield point: the shared objects its next step
 * touches (one, or two), and how. The checker's partial-order reduction uses it
 * to know which steps commute; the simulator ignores it.
 *
 * An op is a number, so that yielding allocates nothing:
 *   bits 0..2    kind of the access to the first object (or SPIN, LOCAL)
 *   bits 3..17   first object id (see ObjectRegistry), < 2^15
 *   bits 18..20  kind of the access to the second object
 *   above        second object id + 1, or 0 when the step touches one object
 */
export type Op = number;

/** The next step only reads the object. */
export const READ = 0;
/** The next step may write the object (locks, counters, page tables). */
export const WRITE = 1;
/**
 * The thread is going round a retry loop and waits for another thread to change
 * something (cpu_relax, a vCPU re-entering the guest to re-fault). Switching away
 * from a spinning thread is not a preemption, and a spin with no write by anyone
 * else since the thread's previous spin is a lack of progress.
 */
export const SPIN = 2;
/** The next step touches nothing another thread can see. */
export const LOCAL = 3;
/**
 * The next step updates the object in a way that commutes with every other
 * SHARED update of it, but not with reads or writes: the read side of a lock
 * (read_lock, read_unlock, srcu_read_lock), a reference count. Two vCPUs taking
 * mmu_lock for read, in either order, reach the same state; a writer, or someone
 * looking at who holds the lock, tells the orders apart.
 */
export const SHARED = 4;

/** Mask of the kind bits. */
export const KIND_MASK = 7;
const OBJ_SHIFT = 3;
const KIND2 = 2 ** 18;
const SECOND = 2 ** 21;

export function opRead(obj: number): Op {
  return (obj << OBJ_SHIFT) | READ;
}
export function opWrite(obj: number): Op {
  return (obj << OBJ_SHIFT) | WRITE;
}
export function opShared(obj: number): Op {
  return (obj << OBJ_SHIFT) | SHARED;
}
export const OP_SPIN: Op = SPIN;
export const OP_LOCAL: Op = LOCAL;

/** A step that touches two objects: `a` with access `kindA`, `b` with `kindB`. */
export function opPair(kindA: number, a: number, kindB: number, b: number): Op {
  return (b + 1) * SECOND + kindB * KIND2 + ((a << OBJ_SHIFT) | kindA);
}

/** A step that touches two objects, both with the same access. */
export function op2(kind: typeof READ | typeof WRITE | typeof SHARED, a: number, b: number): Op {
  return opPair(kind, a, kind, b);
}

/** The kind of the op (of its first object's access). */
export function opKind(op: Op): number {
  return op & KIND_MASK;
}
export function opObject(op: Op): number {
  return (op % KIND2) >>> OBJ_SHIFT;
}
/** The second object of a two-object op, or -1. */
export function opObject2(op: Op): number {
  return Math.floor(op / SECOND) - 1;
}
/** The kind of the access to the second object (meaningful when there is one). */
export function opKind2(op: Op): number {
  return Math.floor(op / KIND2) & KIND_MASK;
}
/** True for ops that touch shared objects (READ, WRITE, SHARED). */
export function opTouches(op: Op): boolean {
  const k = op & KIND_MASK;
  return k === READ || k === WRITE || k === SHARED;
}
/** True for accesses that change the object (WRITE, SHARED). */
export function kindWrites(kind: number): boolean {
  return kind === WRITE || kind === SHARED;
}

/** True when the op changes some object it touches (a WRITE or SHARED access). */
export function opWrites(op: Op): boolean {
  const k = op & KIND_MASK;
  if (k === WRITE || k === SHARED) return true;
  return op >= SECOND && kindWrites(opKind2(op));
}

/** Two accesses to one object conflict unless both read or both are SHARED updates. */
export function kindsConflict(a: number, b: number): boolean {
  return a === WRITE || b === WRITE || a !== b;
}

/** Two announced ops conflict when they touch an object in conflicting ways. */
export function opsConflict(a: Op, b: Op): boolean {
  if (!opTouches(a) || !opTouches(b)) return false;
  const a1 = opObject(a);
  const b1 = opObject(b);
  const ka = a & KIND_MASK;
  const kb = b & KIND_MASK;
  if (a1 === b1 && kindsConflict(ka, kb)) return true;
  const a2 = opObject2(a);
  const b2 = opObject2(b);
  const ka2 = opKind2(a);
  const kb2 = opKind2(b);
  if (b2 >= 0 && a1 === b2 && kindsConflict(ka, kb2)) return true;
  if (a2 >= 0 && a2 === b1 && kindsConflict(ka2, kb)) return true;
  return a2 >= 0 && a2 === b2 && kindsConflict(ka2, kb2);
}
