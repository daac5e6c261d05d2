/**
 * An internal consistency check of the model failed (the counterpart of a kernel
 * WARN_ON): the model itself is wrong, which is reported apart from a property
 * violation of the protocol being modelled.
 */
export class ModelBug extends Error {
  override readonly name = 'ModelBug';
}

/** Throws a ModelBug when `cond` is false; `what` says what was expected. */
export function modelAssert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new ModelBug(what);
}

/** For exhaustive switches over closed unions. */
export function assertNever(x: never, what = 'value'): never {
  throw new ModelBug(`unexpected ${what}: ${String(x)}`);
}
