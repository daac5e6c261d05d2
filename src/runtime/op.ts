/**
 * What a thread announces at a yield point: the shared object its next step
 * touches, and how. The checker's partial-order reduction uses it to know
 * which steps commute; the simulator ignores it.
 *
 * An op is a small integer, so that yielding allocates nothing:
 *   bits 0..1  kind (read, write, spin, local)
 *   bits 2..   object id (see ObjectRegistry)
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

export function opKind(op: Op): number {
  return op & 3;
}
export function opObject(op: Op): number {
  return op >>> 2;
}

/** Two announced ops conflict when they touch one object and one of them writes. */
export function opsConflict(a: Op, b: Op): boolean {
  const ka = a & 3;
  const kb = b & 3;
  if (ka > WRITE || kb > WRITE) return false;
  if (a >>> 2 !== b >>> 2) return false;
  return ka === WRITE || kb === WRITE;
}
