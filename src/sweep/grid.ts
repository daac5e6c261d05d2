import { cellIndex, type Variant, type Vary, variants } from '../cli/variants.js';
import type { Settings } from '../kvm/settings.js';
import { InputError } from '../scenario/input-error.js';
import type { Scenario } from '../scenario/schema.js';
import type { ScenarioSize } from '../scenario/size.js';

export type { Vary };

/** One run of a sweep: a variant (row) and a seed. Cells are numbered variant-major. */
export interface Cell {
  index: number;
  row: number;
  seed: number;
  settings: Settings;
  /** The row's size knobs, when it varies any: the cell runs the scenario resized. */
  size?: ScenarioSize;
}

/** Part `index` of `count`: the cells whose number is index mod count. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Why merge refuses parts of two splits (sweep's and check's): `a` and `b`
 * name each part's split as the message has it ("--shard i/4", "a.json's no
 * --shard", "i/3").
 */
export function differentSplits(a: string, b: string): string {
  return `parts of different splits (${a} and ${b}); expected the parts of one --shard i/n`;
}

/** The rows (variants) of a sweep, as compare has them. */
export function gridRows(scenario: Scenario, base: Partial<Settings>, vary: Vary): Variant[] {
  return variants(scenario, base, vary);
}

/** Every cell of the grid, variants × seeds, in a fixed order. */
export function gridCells(rows: readonly Variant[], seeds: readonly number[]): Cell[] {
  const out: Cell[] = [];
  rows.forEach((r, row) => {
    for (const [k, seed] of seeds.entries()) {
      out.push({ index: cellIndex(row, k, seeds.length), row, seed, settings: r.settings, ...(r.size !== undefined ? { size: r.size } : {}) });
    }
  });
  return out;
}

/** Whether cell `index` is one of `shard`'s: every count-th cell starting at its index (all, with no shard). */
export function shardHolds(shard: Shard | null, index: number): boolean {
  return shard === null || index % shard.count === shard.index;
}

/** How many of `total` cells (numbered 0 … total-1) `shard` holds. */
export function shardSize(total: number, shard: Shard): number {
  return total > shard.index ? Math.ceil((total - shard.index) / shard.count) : 0;
}

/** The cells of one shard. */
export function shardCells(cells: readonly Cell[], shard: Shard | null): Cell[] {
  return cells.filter((c) => shardHolds(shard, c.index));
}

/**
 * The most parts a sweep or check is split into (--shard i/n takes n up to it,
 * merge a part file's shard count): far more than any batch system hands out,
 * and far below 2^53, past which n and i would be rounded.
 */
export const MAX_SHARDS = 1_000_000;

/** Parses `--shard i/n` (0 ≤ i < n ≤ MAX_SHARDS), as a Slurm array or Kubernetes indexed Job hands out i. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (m === null) throw new InputError(`--shard ${text}: expected i/n, e.g. 0/4`);
  // One spelling per part, as --vary refuses 1 and 01 both: a part named 01/2 is not 1/2's twin.
  if (/^0\d|\/0\d/.test(text)) throw new InputError(`--shard ${text}: expected i/n with no leading zeros, e.g. 1/2`);
  // Before anything uses it: past 2^53, Number() rounds n (and i < n would be checked against another n).
  if (Number(m[2]) > MAX_SHARDS) throw new InputError(`--shard ${text}: expected n at most ${MAX_SHARDS}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new InputError(`--shard ${text}: expected n >= 1`);
  if (index >= count) throw new InputError(`--shard ${text}: expected 0 <= i < n`);
  return { index, count };
}
