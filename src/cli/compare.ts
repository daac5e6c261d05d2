import type { Settings } from '../kvm/settings.js';
import { fmtNs } from '../report/duration.js';
import {
  apicRequested,
  apicReRequested,
  faultsEnded,
  ifMeasured,
  invalidationsCompleted,
  lockBroken,
  lockTaken,
  validGenShown,
  zapsCompleted,
} from '../report/measured.js';
import { METRIC_ROWS, type MetricRow, textLabel } from '../report/metric-rows.js';
import { printable } from '../report/printable.js';
import { countMean, seedSpread } from '../report/seed-spread.js';
import { InputError } from '../scenario/input-error.js';
import type { Scenario } from '../scenario/schema.js';
import type { ScenarioSize } from '../scenario/size.js';
import type { RunResult } from '../simulate/result.js';
import { type SimulateOptions, simulate } from '../simulate/simulate.js';
import { shardSize } from '../sweep/grid.js';
import { blockRows } from './compare-block.js';
import { dirtyLogRows } from './compare-dirty-log.js';
import { renderTable } from './table.js';
import { cellIndex, inVariant, type Vary, variantScenario, variants, varyRecord } from './variants.js';

/** One variant of a comparison: its settings (and size, when varied) and one result per seed. */
export interface CompareRow {
  label: string;
  settings: Settings;
  /** The size knobs the variant sets (--vary vcpus=...), when it sets any. */
  size?: ScenarioSize;
  results: RunResult[];
}

export interface CompareResult {
  format: 'mmulab-compare/1';
  scenario: string;
  /** The mutant every run had (--mutate), or null. */
  mutant: string | null;
  /** The --set list as given (settings and size knobs every variant has), in the order given. */
  sets: string[];
  vary: Record<string, (string | boolean | number)[]>;
  seeds: number[];
  rows: CompareRow[];
  partial: boolean;
  /**
   * Bad input a variant's run found as it ran (its message names the variant and
   * seed): the comparison stopped there, partial, its finished runs kept. Absent
   * when none.
   */
  failed?: string;
  /** With `failed`: the number of the run that found it, as a sweep numbers its cells (cellIndex). */
  failedCell?: number;
  wallMs: number;
}

/** Runs each variant on the same workload and seeds. */
export function runCompare(
  scenario: Scenario,
  base: Partial<Settings>,
  vary: Vary,
  seeds: number[],
  opts: {
    mutant: string | null;
    /** The --set list as given, recorded in the result (the scenario and `base` passed in already apply it). */
    sets?: readonly string[];
    interrupted?: () => boolean;
    wallClock?: () => number;
    /** Extra sinks for each simulated run (report recorders), in run order. */
    sinksFor?: () => Pick<SimulateOptions, 'sinks' | 'onInstance'>;
  },
): CompareResult {
  const wall = opts.wallClock ?? (() => 0);
  const t0 = wall();
  const rows: CompareRow[] = [];
  let partial = false;
  let failed: string | undefined;
  let failedCell: number | undefined;
  for (const v of variants(scenario, base, vary)) {
    const { label, settings, size } = v;
    const s = variantScenario(scenario, v);
    const results: RunResult[] = [];
    for (const [k, seed] of seeds.entries()) {
      if (opts.interrupted?.()) {
        partial = true;
        break;
      }
      let r: RunResult;
      try {
        r = simulate(s, { settings, mutant: opts.mutant, seed, interrupted: opts.interrupted, wallClock: opts.wallClock, ...opts.sinksFor?.() });
      } catch (e) {
        const named = inVariant(e, label, seed);
        if (!(named instanceof InputError)) throw named;
        failed = named.message;
        failedCell = cellIndex(rows.length, k, seeds.length);
        partial = true;
        break;
      }
      results.push(r);
      if (r.partial) partial = true;
    }
    rows.push({ label, settings, ...(size !== undefined ? { size } : {}), results });
    if (partial) break;
  }
  return {
    format: 'mmulab-compare/1',
    scenario: scenario.name ?? 'unnamed',
    mutant: opts.mutant,
    sets: [...(opts.sets ?? [])],
    vary: varyRecord(vary),
    seeds,
    rows,
    partial,
    ...(failed !== undefined ? { failed, failedCell } : {}),
    wallMs: Math.round(wall() - t0),
  };
}

/** The mean over seeds, with the spread (min-max) where the seeds differ (seedSpread, as the HTML page shows it); '-' for none. */
function agg(values: number[], fmt: (n: number) => string, fmtMean: (n: number) => string = fmt): string {
  return values.length === 0 ? '-' : seedSpread(values, fmt, fmtMean, '-');
}

/**
 * What a cell is, for the table's header: with several seeds, the mean of the
 * runs' figures (a percentile is each run's own, then averaged).
 */
function cellsAre(seeds: number): string {
  return seeds > 1 ? `cells: mean (min-max) over ${seeds} seeds` : 'metric';
}

const int = (n: number) => String(Math.round(n));

/**
 * A part of a sweep (`--shard i/n`): its table holds its own runs only, a seed or
 * none per column, so its header says so and a row names each column's seeds,
 * lest one column's seed 2 be read against another's seed 1 as means over the seeds.
 */
export interface TablePart {
  index: number;
  count: number;
}

/** Side-by-side table: one column per variant, main metrics as rows. */
export function renderCompare(c: CompareResult, owns?: CellOwner, part?: TablePart): string {
  // A figure a run does not have (undefined: a ring's under a bitmap, say) is left out; a column with none shows '-'.
  const metric = (name: string, f: (r: RunResult) => number | undefined, fmt: (n: number) => string = int): string[] => [
    name,
    ...c.rows.map((row) =>
      agg(
        row.results.map(f).filter((n): n is number => n !== undefined),
        fmt,
        fmt === int ? countMean : fmt,
      ),
    ),
  ];
  // A whole result with runs missing (a merge of some sweep parts; a sweep interrupted or stopped on
  // bad input): its columns hold fewer seeds than the header's "over N seeds" would say.
  const ran = c.rows.reduce((n, row) => n + row.results.length, 0);
  const missing = !part && ran < gridSize(c);
  const seedsRow = (label: string) => [label, ...c.rows.map((row) => (row.results.length > 0 ? row.results.map((r) => r.seed).join(',') : '-'))];
  const rows = [
    ...(part ? [seedsRow('seeds (this part)')] : missing ? [seedsRow('seeds')] : []),
    // Runs stopped at a violation or a livelock cover less time: their counts are of that time.
    metric('simulated time', (r) => r.simTimeNs, fmtNs),
    // Every way a fault ended (as run's summary and the HTML report have them): the rows below faults add up to it.
    metric('faults', (r) => r.metrics.faults.total),
    metric('  fixed', (r) => r.metrics.faults.fixed),
    metric('  spurious', (r) => r.metrics.faults.spurious),
    metric('  emulated (RET_PF_EMULATE)', (r) => r.metrics.faults.emulated),
    metric('  retries before lock', (r) => r.metrics.faults.retriesBeforeLock),
    metric('  retries under lock', (r) => r.metrics.faults.retriesUnderLock),
    metric('  retries on invalid slot', (r) => r.metrics.faults.retriesInvalidSlot),
    // Shadow paging's only (0 under TDP, which walks no guest table), as the #PF injected.
    ...(c.rows.some((row) => row.settings.mmu === 'shadow')
      ? [metric('  retries gpte changed', (r) => r.metrics.faults.retriesGpteChanged), metric('  #PF injected', (r) => r.metrics.faults.injectedPf)]
      : []),
    metric('  in flight at the stop', (r) => r.metrics.faults.inFlight),
    metric('MMIO fast-path emulations', (r) => r.metrics.mmio.fastPath),
    metric('fault p50', (r) => ifMeasured(r, r.metrics.faults.latencyNs.p50, faultsEnded), fmtNs),
    metric('fault p99', (r) => ifMeasured(r, r.metrics.faults.latencyNs.p99, faultsEnded), fmtNs),
    metric('fault max', (r) => ifMeasured(r, r.metrics.faults.latencyNs.max, faultsEnded), fmtNs),
    metric('mmu_lock read acq', (r) => r.metrics.mmuLock.readAcquires),
    metric('mmu_lock write acq', (r) => r.metrics.mmuLock.writeAcquires),
    // Acquisitions, read or write, that had to queue (RwLock's contended count).
    metric('mmu_lock contended acq', (r) => r.metrics.mmuLock.contended),
    metric('mmu_lock wait p99', (r) => ifMeasured(r, r.metrics.mmuLock.waitNs.p99, lockTaken), fmtNs),
    metric('mmu_lock wait max', (r) => ifMeasured(r, r.metrics.mmuLock.waitNs.max, lockTaken), fmtNs),
    metric('lock breaks', (r) => r.metrics.mmuLock.lockBreaks),
    // Who had mmu_lock in the breaks (threads 000, 002), as run's summary has it: only where some run broke it, '-' for a run that did not.
    ...(c.rows.some((row) => row.results.some(lockBroken))
      ? [
          metric('  others took the lock in', (r) => (lockBroken(r) ? r.metrics.mmuLock.breaksYielded : undefined)),
          metric('  acq by others in breaks', (r) => (lockBroken(r) ? r.metrics.mmuLock.breakAcquires : undefined)),
          metric('  longest lock break', (r) => (lockBroken(r) ? r.metrics.mmuLock.breakOffMaxNs : undefined), fmtNs),
        ]
      : []),
    metric('remote flushes', (r) => r.metrics.tlb.remoteFlushes),
    // What thread 001's lockless pre-check is about: the invalidations the faults retried against, and how long they held.
    metric('invalidations completed', (r) => r.metrics.invalidations.completed),
    metric('invalidation time p50', (r) => ifMeasured(r, r.metrics.invalidations.durationNs.p50, invalidationsCompleted), fmtNs),
    metric('invalidation time max', (r) => ifMeasured(r, r.metrics.invalidations.durationNs.max, invalidationsCompleted), fmtNs),
    metric('SPTEs zapped by notifiers', (r) => r.metrics.invalidations.sptesZapped),
    metric('guest accesses', (r) => r.metrics.guest.accesses),
    // Reloads made and re-requested, as run's 'APIC reloads/re-requests' row has them: thread 004 reads one against the other.
    metric('APIC reloads', (r) => r.metrics.apic.reloads),
    metric('APIC re-requests', (r) => r.metrics.apic.reRequests),
    // Each vCPU's time from its first re-request to its reload, added up over the vCPUs: the retry flow's loop only.
    metric(textLabel('apic.stalledNs'), (r) => ifMeasured(r, r.metrics.apic.stalledNs, apicReRequested), fmtNs),
    // Those stalls, and the longest: a vCPU's wait is bounded by the invalidations it overlapped.
    metric('APIC stalls', (r) => r.metrics.apic.stalls ?? 0),
    metric('APIC longest stall', (r) => ifMeasured(r, r.metrics.apic.stallMaxNs ?? 0, apicReRequested), fmtNs),
    // Each vCPU's time from a reload request to its next VM-entry, added up: what the reload costs the guest, either flow.
    metric(textLabel('apic.requestToEntryNs'), (r) => ifMeasured(r, r.metrics.apic.requestToEntryNs, apicRequested), fmtNs),
    // Under TDP there are no shadow pages (0 in the JSON): the row is for comparisons that shadow-page.
    ...(c.rows.some((row) => row.settings.mmu === 'shadow') ? [metric('shadow pages peak', (r) => r.metrics.shadowPages.peak)] : []),
    metric('root reloads', (r) => r.metrics.roots.reloads),
    metric('roots zapped in use', (r) => r.metrics.roots.zappedInUse),
    metric('reloads after root zap', (r) => r.metrics.roots.reloadsAfterZap),
    // zapAll counts kvm_mmu_zap_memslot's slot-only flushes too (memslotFlush=zap-slot, zap-slot-rmap-only).
    // Started and completed, as the HTML page has them (its rows, its mark): completed 0 alone read as "no zap was needed".
    metric('zap-all/memslot zaps started', metricRow('zapAll.started').get),
    markedWhere(c, metric('zap-all/memslot zaps completed', metricRow('zapAll.completed').get), metricRow('zapAll.completed').bad!, NEVER_FINISHED),
    metric('zap-all/memslot longest (completed)', (r) => ifMeasured(r, r.metrics.zapAll.maxDurationNs, zapsCompleted), fmtNs),
    // The fast zap's generation (threads 000, 002), where some run toggled it or began a fast zap.
    ...(c.rows.some((row) => row.results.some(validGenShown))
      ? [metric('mmu_valid_gen toggles', (r) => (validGenShown(r) ? r.metrics.zapAll.validGenToggles : undefined))]
      : []),
    // Present only where a run has them (a logged slot; INVLPG under shadow paging): 0 for a run without.
    ...optionalRows(c, metric),
    // Not means: runs counted.
    ['livelock (runs)', ...c.rows.map((row) => `${row.results.filter((r) => r.progress.livelock).length}/${row.results.length}`)],
    ['violations (all runs)', ...c.rows.map((row) => String(row.results.reduce((a, r) => a + r.violations.length, 0)))],
  ];
  const header = [
    part ? partCellsAre(c, part) : missing ? `cells: ${ran} of ${gridSize(c)} runs (partial)` : cellsAre(c.seeds.length),
    ...c.rows.map((r) => `${r.label}${r.results.some((x) => x.partial) ? ' *' : ''}${r.results.some(stoppedEarly) ? ' †' : ''}`),
  ];
  const perRun = part
    ? `\n(shard ${part.index}/${part.count}: a column's figures are of the seeds in its seeds row only; mmulab merge of every part gives the means over all seeds)`
    : missing
      ? "\n(a column's figures are of the seeds in its seeds row only: p50, p99 and max are each run's, then averaged; min-max shown where the seeds differ, and a count's mean to one decimal)"
      : c.seeds.length > 1
        ? "\n(p50, p99 and max are each run's, then averaged; min-max shown where the seeds differ, and a count's mean to one decimal)"
        : '';
  const stops = stoppedNote(c);
  const note = `${perRun}${stops ? `\n${stops}` : ''}${c.partial ? `\n${partialNote(c, owns)}` : ''}`;
  const mutant = c.mutant ? `, mutant ${printable(c.mutant)}` : '';
  // What every variant was set to: a size --set changes every figure. The type says `sets` is always
  // there, but results built by hand (test fixtures) may lack it: none then.
  const sets = (c.sets ?? []).map((x) => ` --set ${printable(x)}`).join('');
  return `${printable(c.scenario)}, seeds ${c.seeds.join(',')}${sets ? `,${sets}` : ''}${mutant}\n${renderTable(header, rows)}${note}`;
}

/** The mark of a cell whose runs started a zap and never finished it (zapNeverFinished), as the HTML card says it. */
const NEVER_FINISHED = '⚠ never finished';

/** The HTML report's definition of the row of `key` (metric-rows.ts): one for both. */
function metricRow(key: string): MetricRow {
  const row = METRIC_ROWS.find((r) => r.key === key);
  if (row === undefined) throw new RangeError(`no metric row ${key}`);
  return row;
}

/** `cells` (a row: its label, then a cell per variant) with `mark` after each cell where a run of the variant is `bad`. */
function markedWhere(c: CompareResult, cells: string[], bad: (r: RunResult) => boolean, mark: string): string[] {
  return cells.map((cell, i) => (i > 0 && c.rows[i - 1]!.results.some(bad) ? `${cell} ${mark}` : cell));
}

/**
 * Rows of the metrics a run has only where its scenario uses the feature: dirty
 * logging's (host.dirtyLog, with fast_page_fault's fixes), the guest's
 * INVLPG exits (workload.munmapFlush: invlpg under shadow paging) and reclaim's
 * aging (host.invalidations[].age). Shown when
 * some run of the comparison has them; a run without counts 0.
 */
function optionalRows(c: CompareResult, metric: (name: string, f: (r: RunResult) => number | undefined) => string[]): string[][] {
  const runs = c.rows.flatMap((row) => row.results);
  const rows: string[][] = [];
  if (runs.some((r) => r.metrics.dirtyLog !== undefined)) rows.push(...dirtyLogRows(runs, metric));
  if (runs.some((r) => r.metrics.tlb.invlpg !== undefined)) rows.push(metric('INVLPG exits', (r) => r.metrics.tlb.invlpg ?? 0));
  if (runs.some((r) => r.metrics.aging !== undefined)) {
    rows.push(
      metric('reclaim aging (folio_referenced)', (r) => r.metrics.aging?.aged ?? 0),
      metric('  young: page kept', (r) => r.metrics.aging?.young ?? 0),
      metric('  old: page reclaimed', (r) => r.metrics.aging?.old ?? 0),
    );
    // Without EPT A/D bits (TDP), only where some run has them: '-' under EPT A/D bits or the shadow MMU.
    rows.push(
      ...blockRows(runs, metric, (r) => r.metrics.aging?.accessTrack, [
        ['  leaves marked for access tracking', (t) => t.marked],
        ['  marks whose cmpxchg failed', (t) => t.markFailed],
        ['  restored by fast_page_fault', (t) => t.restored],
      ]),
    );
  }
  return rows;
}

/**
 * A run stops at its first violation or at a livelock (README, Result JSON):
 * its counts are of that shorter time, not a variant's doing fewer of them.
 */
const stoppedEarly = (r: RunResult) => r.violations.length > 0 || r.progress.livelock;

/**
 * The runs that stopped early, by column (their column marked †) and when, as
 * the HTML page says "the run stopped at …" under each timeline; '' when none did.
 */
function stoppedNote(c: CompareResult): string {
  const cols: string[] = [];
  for (const row of c.rows) {
    const early = row.results.filter(stoppedEarly);
    if (early.length === 0) continue;
    const at = early.map((r) => `seed ${r.seed} at ${r.violations.length > 0 ? 'its violation' : 'its livelock'} at ${fmtNs(r.simTimeNs)}`);
    cols.push(`${row.label} ${at.join(', ')}`);
  }
  return cols.length === 0 ? '' : `(† stopped early, its counts of a shorter run: ${cols.join('; ')})`;
}

/** A part's header cell: how many of the grid's runs it holds, not "mean over N seeds". */
function partCellsAre(c: CompareResult, part: TablePart): string {
  const cells = gridSize(c);
  return `cells: this part's ${shardSize(cells, part)} of ${cells} runs`;
}

/** The runs of the whole grid: every variant × every seed. */
export function gridSize(c: Pick<CompareResult, 'vary' | 'seeds'>): number {
  return Object.values(c.vary).reduce((n, values) => n * values.length, 1) * c.seeds.length;
}

/** Whether the result is to hold the run of variant `row` with its `k`-th seed (a sweep shard holds some). */
export type CellOwner = (row: number, k: number) => boolean;

/**
 * What a partial comparison leaves out, so that its figures are not read as
 * those of every run: the runs cut short (their columns are starred), and the
 * runs never made (by seed: a merge of sweep parts may miss any of them).
 */
export function partialNote(c: CompareResult, owns: CellOwner = () => true): string {
  const cut: string[] = [];
  const notRun: string[] = [];
  let failed = '';
  for (const [i, row] of c.rows.entries()) {
    for (const r of row.results) if (r.partial) cut.push(`${row.label} seed ${r.seed} at ${fmtNs(r.simTimeNs)}`);
    const ran = new Set(row.results.map((r) => r.seed));
    // The run that found bad input ran, and stopped everything after it.
    const isFailed = (k: number) => c.failedCell === cellIndex(i, k, c.seeds.length);
    for (const [k, seed] of c.seeds.entries()) if (isFailed(k) && owns(i, k)) failed = `${row.label} seed ${seed} stopped on bad input`;
    const missing = c.seeds.filter((seed, k) => owns(i, k) && !ran.has(seed) && !isFailed(k));
    if (missing.length > 0) notRun.push(`${row.label} seed${missing.length > 1 ? 's' : ''} ${missing.join(',')}`);
  }
  const variants = Object.values(c.vary).reduce((n, values) => n * values.length, 1);
  if (variants > c.rows.length) notRun.push(`${variants - c.rows.length} variant${variants - c.rows.length > 1 ? 's' : ''} of ${variants}`);
  const parts = [cut.length > 0 ? `* cut short: ${cut.join('; ')}` : '', failed, notRun.length > 0 ? `not run: ${notRun.join('; ')}` : ''].filter(
    (x) => x !== '',
  );
  return `(partial${parts.length > 0 ? `; ${parts.join('; ')}` : ''})`;
}
