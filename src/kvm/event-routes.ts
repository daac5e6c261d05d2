import type { KvmEvent, Sink } from './events.js';

/** For each event kind, the indexes (in subscription order) of the sinks that read it. */
export type Routes = Map<KvmEvent['e'], readonly number[]>;

/** A number per distinct `kinds` list (0: a sink that reads every kind). */
const listIds = new WeakMap<readonly string[], number>();
let nextId = 1;
/** The route table of no sinks; tables of more sinks hang below it, one sink at a time. */
const ROOT: Routes = new Map();
/** Per shared table: the tables of its sinks plus one more, by the id of that sink's list. */
const next = new WeakMap<Routes, Map<number, Routes>>();
/** Tables shared so far. */
let shared = 1;
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
 * keep its list in a module constant, not build it per instance. Tables are
 * found sink by sink from the table of none (no key is built: the checker
 * subscribes its sinks one by one, for every execution).
 */
export function routesFor(sinks: readonly Sink[]): Routes {
  let t = ROOT;
  for (const s of sinks) t = routesWith(t, s);
  return t;
}

/** The route table of the sinks of `t` and then `sink`. */
export function routesWith(t: Routes, sink: Sink): Routes {
  const id = listId(sink.kinds);
  let below = next.get(t);
  if (below === undefined) {
    // An unshared table (past MAX_TABLES) has no shared tables below it.
    if (shared >= MAX_TABLES) return new Map();
    below = new Map();
    next.set(t, below);
  }
  let u = below.get(id);
  if (u === undefined) {
    u = new Map();
    if (shared < MAX_TABLES) {
      below.set(id, u);
      shared++;
    }
  }
  return u;
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
