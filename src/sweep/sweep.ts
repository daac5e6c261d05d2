import type { CompareResult, CompareRow } from '../cli/compare.js';
import { cellIndex, failedIn, varyRecord } from '../cli/variants.js';
import type { Settings } from '../kvm/settings.js';
import { scenarioDigest } from '../scenario/digest.js';
import { InputError } from '../scenario/input-error.js';
import type { Scenario } from '../scenario/schema.js';
import { buildDigest } from './build-digest.js';
import { differentSplits, gridCells, gridRows, type Shard, shardCells, type Vary } from './grid.js';
import { differs, refuseOtherBuild, sameSets, setsRecord, shortDigest } from './merge-identity.js';
import { runCells } from './pool.js';

/**
 * A sweep's result: compare's rows (one per variant, one result per seed, in
 * seed order), plus which shard of the grid it holds. A merged or unsharded
 * result has `shard: null` and every cell.
 */
export interface SweepResult extends Omit<CompareResult, 'format'> {
  format: 'mmulab-sweep/1';
  /** The scenario as run (its content, resized by the size --sets): scenarioDigest. */
  scenarioDigest: string;
  /** The mmulab that ran it (buildDigest); absent in files from before it was recorded. */
  build?: string;
  mutant: string | null;
  /** The --set list as given: settings and size knobs. */
  sets: string[];
  /** --max-steps, or null. */
  maxSteps: number | null;
  shard: Shard | null;
  /** With `failed`: the number of the cell whose bad input stopped the sweep (cells after it are not kept). */
  failedCell?: number;
}

export interface SweepOptions {
  workers: number;
  mutant: string | null;
  /** The --set list as given, recorded in the result (the scenario and settings passed in already apply it). */
  sets?: readonly string[];
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
  const { results, failed } = await runCells(scenario, mine, {
    workers: opts.workers,
    mutant: opts.mutant,
    maxSteps: opts.maxSteps,
    interrupted: opts.interrupted,
    onResult: opts.onResult,
  });
  // A cell's bad input (its message naming the variant and seed), kept with the cells that ran.
  const cell = failed === null ? undefined : all.find((c) => c.index === failed.cell)!;
  const failure = cell === undefined ? undefined : failedIn(failed!.message, rowsIn[cell.row]!.label, cell.seed);
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
    scenarioDigest: scenarioDigest(scenario),
    build: buildDigest(),
    mutant: opts.mutant,
    sets: [...(opts.sets ?? [])],
    maxSteps: opts.maxSteps ?? null,
    vary: varyRecord(vary),
    seeds,
    shard,
    rows,
    partial,
    ...(failure !== undefined ? { failed: failure, failedCell: cell!.index } : {}),
    wallMs: Math.round(wall() - t0),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Merges shard results (any order) into the result the unsharded sweep gives:
 * the same grid, every cell exactly once, results in seed order. wallMs is the
 * longest part's (the parts ran side by side). Parts must come from the same
 * sweep (scenario and its content, mutant, --set, --max-steps, --vary, seeds)
 * and split (one --shard n), hold only cells of their shard, each once, and
 * results that are their rows' runs; otherwise an InputError names the part's
 * file (`names`, in the order of `parts`) and what differs.
 */
export function mergeSweeps(parts: readonly SweepResult[], names: readonly string[] = parts.map((_, i) => `part ${i}`)): SweepResult {
  if (parts.length === 0) throw new InputError('merge: expected at least one result file');
  const first = parts[0]!;
  parts.forEach((p, k) => {
    const name = names[k]!;
    const unlike = differs(name, names[0]!);
    if (p.format !== 'mmulab-sweep/1') throw new InputError(`${name}: format: expected "mmulab-sweep/1" (as ${names[0]} has), got ${JSON.stringify(p.format)}`);
    if (p.scenario !== first.scenario) throw unlike('scenario', p.scenario, first.scenario);
    if (p.mutant !== first.mutant) throw unlike('--mutate', p.mutant, first.mutant);
    if (!sameSets(setsRecord(p.sets), setsRecord(first.sets), p.scenarioDigest === first.scenarioDigest))
      throw unlike('--set', p.sets.join(' '), first.sets.join(' '));
    if (p.maxSteps !== first.maxSteps) throw unlike('--max-steps', p.maxSteps, first.maxSteps);
    if (!same(p.vary, first.vary)) throw unlike('--vary', JSON.stringify(p.vary), JSON.stringify(first.vary));
    if (!same(p.seeds, first.seeds)) throw unlike('seeds', p.seeds.join(','), first.seeds.join(','));
    if (p.scenarioDigest !== first.scenarioDigest)
      throw unlike("the scenario's content (scenarioDigest)", shortDigest(p.scenarioDigest), shortDigest(first.scenarioDigest));
    refuseOtherBuild(unlike, p.build, first.build);
    // Cells are dealt out by n: parts of two splits neither make up the grid nor tell which of its cells are missing.
    if ((p.shard?.count ?? 1) !== (first.shard?.count ?? 1)) {
      const split = (s: Shard | null) => (s === null ? 'no --shard' : `--shard i/${s.count}`);
      throw new InputError(`${name}: shard: ${differentSplits(split(p.shard), `${names[0]}'s ${split(first.shard)}`)}`);
    }
    if (p.rows.length !== first.rows.length) throw unlike('the number of rows', p.rows.length, first.rows.length);
    p.rows.forEach((r, i) => {
      const f = first.rows[i]!;
      if (r.label !== f.label) throw unlike(`rows[${i}].label`, r.label, f.label);
      if (!same(r.settings, f.settings)) throw unlike(`rows[${i}].settings`, JSON.stringify(r.settings), JSON.stringify(f.settings));
      if (!same(r.size, f.size)) throw unlike(`rows[${i}].size`, JSON.stringify(r.size), JSON.stringify(f.size));
      for (const [j, res] of r.results.entries()) refuseForeignResult(name, p, i, j, res);
    });
  });
  const seedPos = new Map(first.seeds.map((s, i) => [s, i]));
  const rows: CompareRow[] = first.rows.map((r, i) => {
    const bySeed = new Map<number, CompareRow['results'][number]>();
    // Where each cell was found: the part, and the result's place in it.
    const foundAt = new Map<number, { k: number; j: number }>();
    parts.forEach((p, k) => {
      p.rows[i]!.results.forEach((res, j) => {
        const where = `${names[k]}: rows[${i}].results[${j}].seed`;
        const pos = seedPos.get(res.seed);
        if (pos === undefined) throw new InputError(`${where}: expected one of the seeds ${first.seeds.join(',')}, got ${res.seed}`);
        // Cells are numbered variant-major, seed-minor (grid.ts); a shard holds those ≡ its index.
        const cell = i * first.seeds.length + pos;
        if (p.shard !== null && cell % p.shard.count !== p.shard.index) {
          throw new InputError(`${where}: cell ${cell} (${r.label}, seed ${res.seed}) is not one of shard ${p.shard.index}/${p.shard.count}'s`);
        }
        const before = foundAt.get(res.seed);
        if (before?.k === k)
          throw new InputError(`${where}: cell ${r.label} seed ${res.seed} is duplicated within this part (rows[${i}].results[${before.j}] holds it too)`);
        if (before !== undefined)
          throw new InputError(
            names[k] === names[before.k]
              ? `${names[k]}: given twice (each part once)`
              : `${names[k]}: cell ${r.label} seed ${res.seed} appears in more than one part (${names[before.k]} holds it too)`,
          );
        foundAt.set(res.seed, { k, j });
        bySeed.set(res.seed, res);
      });
    });
    const results = [...bySeed.values()].sort((a, b) => seedPos.get(a.seed)! - seedPos.get(b.seed)!);
    return { label: r.label, settings: r.settings, ...(r.size !== undefined ? { size: r.size } : {}), results };
  });
  // A cell's bad input stopped a part: the unsharded sweep would have stopped at the lowest such cell, keeping only the cells before it.
  const stop = parts.reduce<SweepResult | null>(
    (low, p) => (p.failed !== undefined && (low === null || (p.failedCell ?? 0) < (low.failedCell ?? 0)) ? p : low),
    null,
  );
  if (stop !== null) {
    const seeds = first.seeds.length;
    rows.forEach((r, i) => {
      r.results = r.results.filter((res) => cellIndex(i, seedPos.get(res.seed)!, seeds) < (stop.failedCell ?? 0));
    });
  }
  const complete = rows.every((r) => r.results.length === first.seeds.length);
  return {
    format: 'mmulab-sweep/1',
    scenario: first.scenario,
    scenarioDigest: first.scenarioDigest,
    ...(first.build !== undefined ? { build: first.build } : {}),
    mutant: first.mutant,
    sets: first.sets,
    maxSteps: first.maxSteps,
    vary: first.vary,
    seeds: first.seeds,
    shard: null,
    rows,
    partial: !complete || parts.some((p) => p.partial),
    ...(stop !== null ? { failed: stop.failed, failedCell: stop.failedCell } : {}),
    wallMs: Math.max(...parts.map((p) => p.wallMs)),
  };
}

/**
 * Refuses a result that is not its part's run of row `i`: a scenario, mutant or
 * settings other than the part's and the row's (a part edited, results pasted
 * from another sweep), which the merged file would carry under the row's label.
 */
function refuseForeignResult(name: string, p: SweepResult, i: number, j: number, res: CompareRow['results'][number]): void {
  const at = `${name}: rows[${i}].results[${j}]`;
  const show = (v: string | null) => (v === null ? '(none)' : v);
  if (res.scenario !== p.scenario) throw new InputError(`${at}.scenario: expected the part's scenario ${p.scenario}, got ${res.scenario}`);
  if (res.mutant !== p.mutant) throw new InputError(`${at}.mutant: expected the part's mutant ${show(p.mutant)}, got ${show(res.mutant)}`);
  const row: Record<string, unknown> = { ...p.rows[i]!.settings };
  const got: Record<string, unknown> = { ...res.settings };
  const keys = [...new Set([...Object.keys(row), ...Object.keys(got)])].filter((key) => !same(got[key], row[key]));
  if (keys.length > 0) {
    const list = (o: Record<string, unknown>) => keys.map((key) => `${key}=${o[key] === undefined ? '(none)' : String(o[key])}`).join(' ');
    throw new InputError(`${at}.settings: expected its row's (rows[${i}].settings) ${list(row)}, got ${list(got)}`);
  }
}

/** The cells of the grid a (merged) result has no run of, as "label seed N", in cell order. */
export function missingCells(s: SweepResult): string[] {
  return s.rows.flatMap((r) => {
    const ran = new Set(r.results.map((x) => x.seed));
    return s.seeds.filter((seed) => !ran.has(seed)).map((seed) => `${r.label} seed ${seed}`);
  });
}

/** The compare view of a sweep, for renderCompare. */
export function asCompare(s: SweepResult): CompareResult {
  return {
    format: 'mmulab-compare/1',
    scenario: s.scenario,
    mutant: s.mutant,
    sets: s.sets,
    vary: s.vary,
    seeds: s.seeds,
    rows: s.rows,
    partial: s.partial,
    ...(s.failed !== undefined ? { failed: s.failed, failedCell: s.failedCell } : {}),
    wallMs: s.wallMs,
  };
}
