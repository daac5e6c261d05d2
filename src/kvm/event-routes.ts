import type { KvmEvent, Sink } from './events.js';

/** For each event kind, the indexes (in subscription order) of the sinks that read it. */
export type Routes = Map<KvmEvent['e'], readonly number[]>;

/** A number per distinct `kinds` list (0: a sink that reads every kind). */
const listIds = new WeakMap<readonly string[], number>();
let nextId = 1;
/** Route tables by the ids of the sinks' lists, in subscription order. */
const tables = new Map<string, Routes>();
/** Past this many tables (sinks that build their lists per instance), routes are no longer shared. */
const MAX_TABLES = 256;

function listId(kinds: readonly string[] | undefined): number {
  if (kinds === undefined) return 0;
  let id = listIds.get(kinds);
  if (id === undefined) {
    id = nextId++;
    listIds.set(kinds, id);
  }
  return id;
}

/**
 * The route table for `sinks`: which of them read each event kind. Tables are
 * shared by every Kvm whose sinks have the same `kinds` lists (the same arrays),
 * so that the checker, which builds a Kvm per execution, works each route out
 * once per run rather than once per execution. A sink class should therefore
 * keep its list in a module constant, not build it per instance.
 */
export function routesFor(sinks: readonly Sink[]): Routes {
  const key = sinks.map((s) => listId(s.kinds)).join(',');
  let t = tables.get(key);
  if (t === undefined) {
    t = new Map();
    if (tables.size < MAX_TABLES) tables.set(key, t);
  }
  return t;
}

/** Works out, and remembers in `routes`, which of `sinks` read events of kind `e`. */
export function route(routes: Routes, sinks: readonly Sink[], e: KvmEvent['e']): readonly number[] {
  const r: number[] = [];
  for (let i = 0; i < sinks.length; i++) {
    const k = sinks[i]!.kinds;
    if (k === undefined || k.includes(e)) r.push(i);
  }
  routes.set(e, r);
  return r;
}
