/**
 * What a thread announces at a yield point: the shared objects its next step
 * touches (one, or two), and how. The checker's partial-order reduction uses it
 * to know which steps commute; the simulator ignores it.
 *
 * An op is a number, so that yielding allocates nothing:
 *   bits 0..1   kind (read, write, spin, local)
 *   bits 2..16  first object id (see ObjectRegistry), < 2^15
 *   above       second object id + 1, or 0 when the step touches one object
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

export function opRead(obj: number): Op {
  return (obj << 2) | READ;
}
export function opWrite(obj: number): Op {
  return (obj << 2) | WRITE;
}
export const OP_SPIN: Op = SPIN;
export const OP_LOCAL: Op = LOCAL;

const SECOND = 1 << 17;

/** A step that touches two objects (reads or writes both, per `kind`). */
export function op2(kind: typeof READ | typeof WRITE, a: number, b: number): Op {
  return (b + 1) * SECOND + ((a << 2) | kind);
}

export function opKind(op: Op): number {
  return op & 3;
}
export function opObject(op: Op): number {
  return (op % SECOND) >>> 2;
}
/** The second object of a two-object op, or -1. */
export function opObject2(op: Op): number {
  return Math.floor(op / SECOND) - 1;
}

/** Two announced ops conflict when they share an object and one of them writes. */
export function opsConflict(a: Op, b: Op): boolean {
  const ka = a & 3;
  const kb = b & 3;
  if (ka > WRITE || kb > WRITE) return false;
  if (ka !== WRITE && kb !== WRITE) return false;
  const a1 = opObject(a);
  const b1 = opObject(b);
  if (a1 === b1) return true;
  const a2 = opObject2(a);
  const b2 = opObject2(b);
  return (a2 >= 0 && (a2 === b1 || a2 === b2)) || (b2 >= 0 && b2 === a1);
}
