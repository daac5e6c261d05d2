/**
 * Shards of an exploration: part `index` of `count` owns the units whose number
 * is index mod count. A unit is what the unsharded exploration runs in a fixed
 * order: one execution for random and pct (numbered 0, 1, 2, …), one subtree of
 * the DFS split for dfs (see DfsOptions.split). Because ownership is by number,
 * the parts run exactly the units the unsharded run would, and a merge can put
 * them back in its order.
 */
export interface Shard {
  /** This part, 0 ≤ index < count. */
  index: number;
  /** Number of parts. */
  count: number;
}

/** True when `shard` owns unit `u` (everything, with no shard). */
export function owns(shard: Shard | null | undefined, u: number): boolean {
  return shard == null || u % shard.count === shard.index;
}

/** Number of units below `limit` that `shard` owns. */
export function ownedBelow(shard: Shard | null | undefined, limit: number): number {
  if (shard == null) return Math.max(0, limit);
  if (limit <= shard.index) return 0;
  return Math.ceil((limit - shard.index) / shard.count);
}

/**
 * Sub-shard `w` of `k` of `shard` (or of the whole): the units of `shard` taken
 * every k-th in turn. Part i of n split k ways is part i + n·w of n·k.
 */
export function subShard(shard: Shard | null | undefined, w: number, k: number): Shard {
  const s = shard ?? { index: 0, count: 1 };
  return { index: s.index + s.count * w, count: s.count * k };
}
