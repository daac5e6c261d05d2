import type { CompareResult, CompareRow } from '../cli/compare.js';
import { varyRecord } from '../cli/variants.js';
import type { Settings } from '../kvm/settings.js';
import { InputError } from '../scenario/input-error.js';
import type { Scenario } from '../scenario/schema.js';
import { gridCells, gridRows, type Shard, shardCells, type Vary } from './grid.js';
import { runCells } from './pool.js';

/**
 * A sweep's result: compare's rows (one per variant, one result per seed, in
 * seed order), plus which shard of the grid it holds. A merged or unsharded
 * result has `shard: null` and every cell.
 */
export interface SweepResult extends Omit<CompareResult, 'format'> {
  format: 'mmulab-sweep/1';
  mutant: string | null;
  shard: Shard | null;
}

export interface SweepOptions {
  workers: number;
  mutant: string | null;
  shard?: Shard | null;
  maxSteps?: number;
  interrupted?: () => boolean;
  wallClock?: () => number;
  onResult?: () => void;
}

/** Runs the grid (variants × seeds), or one shard of it, on worker threads. */
export async function runSweep(scenario: Scenario, base: Partial<Settings>, vary: Vary, seeds: number[], opts: SweepOptions): Promise<SweepResult> {
  const wall = opts.wallClock ?? (() => 0);
  const t0 = wall();
  const shard = opts.shard ?? null;
  const rowsIn = gridRows(scenario, base, vary);
  const all = gridCells(rowsIn, seeds);
  const mine = shardCells(all, shard);
  const results = await runCells(scenario, mine, {
    workers: opts.workers,
    mutant: opts.mutant,
    maxSteps: opts.maxSteps,
    interrupted: opts.interrupted,
    onResult: opts.onResult,
  });
  const rows: CompareRow[] = rowsIn.map((r) => ({ label: r.label, settings: r.settings, ...(r.size !== undefined ? { size: r.size } : {}), results: [] }));
  let partial = results.size < mine.length;
  for (const c of mine) {
    const r = results.get(c.index);
    if (r === undefined) continue;
    rows[c.row]!.results.push(r);
    if (r.partial) partial = true;
  }
  return {
    format: 'mmulab-sweep/1',
    scenario: scenario.name ?? 'unnamed',
    mutant: opts.mutant,
    vary: varyRecord(vary),
    seeds,
    shard,
    rows,
    partial,
    wallMs: Math.round(wall() - t0),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Merges shard results (any order) into the result the unsharded sweep gives:
 * the same grid, every cell exactly once, results in seed order. wallMs is the
 * longest part's (the parts ran side by side).
 */
export function mergeSweeps(parts: readonly SweepResult[]): SweepResult {
  if (parts.length === 0) throw new InputError('merge: expected at least one result file');
  const first = parts[0]!;
  for (const p of parts) {
    if (p.format !== 'mmulab-sweep/1') throw new InputError(`merge: expected format mmulab-sweep/1, got ${JSON.stringify(p.format)}`);
    if (p.scenario !== first.scenario || p.mutant !== first.mutant || !same(p.vary, first.vary) || !same(p.seeds, first.seeds)) {
      throw new InputError('merge: the parts come from different sweeps (scenario, mutant, --vary or seeds differ)');
    }
    if (
      p.rows.length !== first.rows.length ||
      p.rows.some((r, i) => r.label !== first.rows[i]!.label || !same(r.settings, first.rows[i]!.settings) || !same(r.size, first.rows[i]!.size))
    ) {
      throw new InputError('merge: the parts have different variants or settings');
    }
  }
  const seedPos = new Map(first.seeds.map((s, i) => [s, i]));
  const rows: CompareRow[] = first.rows.map((r, i) => {
    const bySeed = new Map<number, CompareRow['results'][number]>();
    for (const p of parts) {
      for (const res of p.rows[i]!.results) {
        if (bySeed.has(res.seed)) throw new InputError(`merge: cell ${r.label} seed ${res.seed} appears in more than one part`);
        bySeed.set(res.seed, res);
      }
    }
    const results = [...bySeed.values()].sort((a, b) => seedPos.get(a.seed)! - seedPos.get(b.seed)!);
    return { label: r.label, settings: r.settings, ...(r.size !== undefined ? { size: r.size } : {}), results };
  });
  const complete = rows.every((r) => r.results.length === first.seeds.length);
  return {
    format: 'mmulab-sweep/1',
    scenario: first.scenario,
    mutant: first.mutant,
    vary: first.vary,
    seeds: first.seeds,
    shard: null,
    rows,
    partial: !complete || parts.some((p) => p.partial),
    wallMs: Math.max(...parts.map((p) => p.wallMs)),
  };
}

/** The compare view of a sweep, for renderCompare. */
export function asCompare(s: SweepResult): CompareResult {
  return { format: 'mmulab-compare/1', scenario: s.scenario, vary: s.vary, seeds: s.seeds, rows: s.rows, partial: s.partial, wallMs: s.wallMs };
}
