/**
 * The keys a scenario file may have where it has one it may not: the schema's
 * own at that place, for an unknown-key message to list, and the one the
 * writer most likely meant (a case or a letter or two off, or a key one level
 * down: a top-level `vcpus` is `vm.vcpus`).
 */
import type { z } from 'zod';

/** What a schema is made of, as zod's core definitions have it (the parts walked here). */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
}

const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** `s` without what wraps a value's schema (optional, default, a pipe's output). */
function unwrapped(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault') && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** The object schema's keys at `path` (object keys and array indices), in the schema's order; undefined where there is no object. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType | undefined = unwrapped(schema);
  for (const p of path) {
    const d = defOf(s);
    s = d.type === 'object' ? d.shape?.[String(p)] : d.type === 'array' ? d.element : undefined;
    if (s === undefined) return undefined;
    s = unwrapped(s);
  }
  const d = defOf(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined;
}

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`, case aside. */
function distance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/**
 * The key the writer of `key` at `path` most likely meant: one there a case
 * or at most two letters off (one for a short key), else the same key one
 * level down ('vm.vcpus' for a top-level 'vcpus'); undefined when none is close.
 */
export function meantKey(schema: z.ZodType, path: readonly PropertyKey[], key: string): string | undefined {
  const here = keysAt(schema, path) ?? [];
  const near = here
    .map((k) => ({ k, d: distance(key, k) }))
    .filter(({ d }) => d <= (key.length <= 4 ? 1 : 2))
    .sort((a, b) => a.d - b.d)[0];
  if (near !== undefined) return near.k;
  for (const parent of here) {
    const below = keysAt(schema, [...path, parent])?.find((k) => k.toLowerCase() === key.toLowerCase());
    if (below !== undefined) return `${parent}.${below}`;
  }
  return undefined;
}
