import type { RunResult } from '../simulate/result.js';
import { fmtNs } from './duration.js';
import { type Bar, barChart } from './html-bars.js';
import { type ChartSpec, chartDiv, esc, fmtInt, PALETTE, page } from './html-page.js';
import { fmtMetric, settingsTable } from './html-run.js';
import { timelineLegend, timelineSvg } from './html-timeline.js';
import { METRIC_ROWS, type MetricRow, metricRowsFor, runStatus, statusClass, zapNeverFinished } from './metric-rows.js';
import { countMean, seedSpread } from './seed-spread.js';
import { QUANTILE_POINTS, type RunSeries } from './series.js';

/** One variant of a comparison: its label and one result per seed. */
export interface CompareReportRow {
  /** e.g. "memslotFlush=zap-all-fast". */
  label: string;
  /** One per seed, in seed order. */
  results: RunResult[];
  /** Recorded series, parallel to `results` (optional: charts over time need them). */
  series?: RunSeries[];
}

/** What the page says about the comparison as a whole. */
export interface CompareReportOptions {
  /** Scenario name (default: the first result's). */
  scenario?: string;
  /** The scenario's description. */
  description?: string;
  /** The comparison is partial: what it leaves out, as the text table's note says it. */
  partial?: string;
  /** The command that produced it. */
  command?: string;
  /** What every variant was set to (compare's --set list): a size changes every figure. */
  sets?: readonly string[];
}

const mean = (a: number[]) => (a.length === 0 ? 0 : a.reduce((x, y) => x + y, 0) / a.length);

/** Mean over seeds, with min–max where the seeds differ as printed (seedSpread, as the text table has it). */
function agg(row: MetricRow, results: RunResult[]): { v: number; text: string } {
  // A figure a run does not have (a duration it did not measure) is left out; none: '-', as the text table has it.
  const vals = results.filter((r) => row.has?.(r) ?? true).map(row.get);
  if (vals.length === 0) return { v: 0, text: '-' };
  const show = (n: number) => fmtMetric(row, n);
  // A count's mean to one decimal, as the text table has it: rounded, the rows under faults would not add up to it.
  const showMean = row.unit === 'int' ? (n: number) => groupedDecimal(countMean(n)) : show;
  return { v: mean(vals), text: seedSpread(vals, show, showMean, '–') };
}

/** "1174.5" as the page shows counts: thousands grouped (1,174.5). */
function groupedDecimal(text: string): string {
  const [whole, frac] = text.split('.');
  return `${Number(whole).toLocaleString('en-US')}${frac === undefined ? '' : `.${frac}`}`;
}

/** The worst status among a variant's seeds, and how many seeds had it. */
function variantStatus(results: RunResult[]) {
  const sts = results.map(runStatus);
  const order = ['model-bug', 'violation', 'livelock', 'partial', 'ok'] as const;
  for (const k of order) {
    const hit = sts.filter((s) => s.kind === k);
    if (hit.length > 0) return { ...hit[0]!, count: hit.length, of: sts.length };
  }
  return { kind: 'ok' as const, label: 'OK', detail: '', count: 0, of: 0 };
}

/** Values of a per-bin series at the midpoints of a common grid; null past the run's end. */
function resample(s: RunSeries, values: number[], endNs: number, bins: number, perUs: boolean): (number | null)[] {
  const out: (number | null)[] = [];
  const w = endNs / bins;
  for (let j = 0; j < bins; j++) {
    const t = (j + 0.5) * w;
    if (t > s.endNs) {
      out.push(null);
      continue;
    }
    const v = values[Math.min(s.bins - 1, Math.floor(t / s.binNs))] ?? 0;
    out.push(perUs ? v / (s.binNs / 1000) : v);
  }
  return out;
}

/** Mean of several aligned arrays, ignoring nulls. */
function meanAligned(arrays: (number | null)[][]): (number | null)[] {
  const n = arrays[0]?.length ?? 0;
  const out: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    const vs = arrays.map((a) => a[i]).filter((v): v is number => v !== null && v !== undefined);
    out.push(vs.length === 0 ? null : Math.round((vs.reduce((a, b) => a + b, 0) / vs.length) * 1000) / 1000);
  }
  return out;
}

/** A run's zap-all pages left at each of `t`: its last point at or before; null before its first and past the run's end. */
function zapLeftAt(s: RunSeries, t: readonly number[]): (number | null)[] {
  const left = s.lockBreaks.left;
  if (left === null) return t.map(() => null);
  const { timesNs, pages } = left;
  const last = timesNs.length - 1;
  let i = -1;
  return t.map((x) => {
    while (i < last && timesNs[i + 1]! <= x) i++;
    return i < 0 || x > s.endNs ? null : pages[i]!;
  });
}

function compareCharts(rows: CompareReportRow[]): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const color = (i: number) => PALETTE[i % PALETTE.length]!;
  const allSeries = rows.every((r) => r.series !== undefined && r.series.length > 0);
  // Fault latency quantiles: shared x (percentile), one line per variant; from the
  // recorded series when every run has them, else from the result's percentiles.
  const withQuantiles = allSeries && rows.every((r) => r.series!.some((s) => s.quantiles.length > 0));
  const xs: number[] = withQuantiles ? [...QUANTILE_POINTS] : [50, 90, 99, 100];
  const ys = rows.map((r) => {
    if (withQuantiles) {
      const qs = r.series!.filter((s) => s.quantiles.length > 0).map((s) => s.quantiles);
      return QUANTILE_POINTS.map((_, i) => Math.max(1, mean(qs.map((q) => q[i]!))));
    }
    const l = r.results.map((x) => x.metrics.faults.latencyNs);
    return [mean(l.map((p) => p.p50)), mean(l.map((p) => p.p90)), mean(l.map((p) => p.p99)), mean(l.map((p) => p.max))].map((v) => Math.max(1, v));
  });
  charts.push({
    id: 'cmp-latency',
    title: 'Fault latency by percentile (mean over seeds)',
    kind: 'line',
    x: { label: 'percentile', fmt: 'pct' },
    y: { label: 'latency', log: true, fmt: 'ns' },
    data: [xs, ...ys],
    series: rows.map((r, i) => ({ label: r.label, color: color(i) })),
  });
  if (allSeries) {
    const endNs = Math.max(...rows.flatMap((r) => r.series!.map((s) => s.endNs)));
    const bins = 300;
    const t = Array.from({ length: bins }, (_, j) => Math.round((j + 0.5) * (endNs / bins)));
    const over = (id: string, title: string, y: string, pick: (s: RunSeries) => number[], perUs: boolean): ChartSpec => ({
      id,
      title,
      kind: 'step',
      x: { label: 'virtual time', fmt: 'ms' },
      y: { label: y, fmt: 'num' },
      data: [t, ...rows.map((r) => meanAligned(r.series!.map((s) => resample(s, pick(s), endNs, bins, perUs))))],
      series: rows.map((r, i) => ({ label: r.label, color: color(i) })),
    });
    charts.push(over('cmp-lock-wait', 'Threads waiting for mmu_lock (time average)', 'threads', (s) => s.lock.waiting, false));
    charts.push(over('cmp-lock-write', 'mmu_lock held for write (fraction of time)', 'held', (s) => s.lock.write, false));
    charts.push(over('cmp-accesses', 'Guest accesses per µs (throughput)', 'accesses/µs', (s) => s.activity.accesses, true));
    charts.push(over('cmp-retries', 'Fault retries per µs', 'retries/µs', (s) => s.activity.retries, true));
    // Threads 000/002 at a glance: the fast zap's obsolete pages fall to 0, the lock-break zap-all's pages never fall.
    if (rows.some((r) => r.series!.some((s) => s.lockBreaks.left !== null))) {
      charts.push({
        id: 'cmp-zap-left',
        title: "Zap-all: pages left to zap (its begin, each mmu_lock break, its walk's end)",
        kind: 'step',
        x: { label: 'virtual time', fmt: 'ms' },
        y: { label: 'pages left', fmt: 'num', zero: true },
        data: [t, ...rows.map((r) => meanAligned(r.series!.map((s) => zapLeftAt(s, t))))],
        series: rows.map((r, i) => ({ label: r.label, color: color(i) })),
      });
    }
  }
  return charts;
}

/** Side-by-side bars of the figures that tell variants apart. */
function barsSection(rows: CompareReportRow[]): string {
  const keys = [
    'zapAll.completed',
    'zapAll.maxDurationNs',
    'faults.latencyNs.p99',
    'mmuLock.waitNs.p99',
    'mmuLock.contended',
    'mmuLock.writeHoldNs.max',
    'faults.retries',
    // Thread 001: a pre-check retry costs no mmu_lock and no get_user_pages, one under the lock costs both; the
    // total alone reads as if the pre-check made things worse (it retries more, as each retry re-faults at once).
    'faults.retriesBeforeLock',
    'faults.retriesUnderLock',
    'tlb.remoteFlushes',
    'roots.reloads',
    'apic.stalledNs',
    // What a reload costs the guest under either flow: the re-requesting above is the retry flow's alone.
    'apic.requestToEntryNs',
  ];
  const out: string[] = [];
  for (const key of keys) {
    const row = METRIC_ROWS.find((m) => m.key === key)!;
    const vals = rows.map((r) => agg(row, r.results));
    if (vals.every((v) => v.v === 0) && key !== 'zapAll.completed') continue;
    if (key === 'zapAll.completed' && rows.every((r) => r.results.every((x) => x.metrics.zapAll.started === 0))) continue;
    const top = Math.max(0, ...vals.map((v) => v.v));
    const bars: Bar[] = rows.map((r, i) => {
      const bad = r.results.some((x) => row.bad?.(x) ?? false);
      if (key === 'zapAll.maxDurationNs' && bad) {
        // A zap that never completed has no duration: draw it off the scale.
        return { label: r.label, value: top, text: 'never completed', color: PALETTE[i % PALETTE.length]!, bad };
      }
      const text = key === 'zapAll.completed' ? `${fmtInt(vals[i]!.v)} of ${fmtInt(mean(r.results.map((x) => x.metrics.zapAll.started)))}` : vals[i]!.text;
      return { label: r.label, value: vals[i]!.v, text, color: PALETTE[i % PALETTE.length]!, bad };
    });
    out.push(`<div class="barbox">${barChart(`${row.group}: ${row.label}`, bars, `bars-${key.replace(/\./g, '-')}`)}</div>`);
  }
  // A livelocked run stops early: throughput, not totals, compares across run lengths.
  const rate = rows.map((r) => mean(r.results.map((x) => (x.simTimeNs > 0 ? (x.metrics.guest.accesses * 1000) / x.simTimeNs : 0))));
  const rateBars: Bar[] = rows.map((r, i) => ({ label: r.label, value: rate[i]!, text: `${rate[i]!.toFixed(2)} /µs`, color: PALETTE[i % PALETTE.length]! }));
  out.push(`<div class="barbox">${barChart('Guest: accesses per µs of virtual time', rateBars, 'bars-guest-rate')}</div>`);
  return out.join('');
}

/** Several variants of one workload side by side, on the same axes. */
export function renderCompareReport(rows: CompareReportRow[], opts: CompareReportOptions = {}): string {
  const first = rows[0]?.results[0];
  const scenario = opts.scenario ?? first?.scenario ?? 'unnamed';
  const seeds = [...new Set(rows.flatMap((r) => r.results.map((x) => x.seed)))];
  const statuses = rows.map((r) => variantStatus(r.results));
  const failing = rows.map((r, i) => ({ r, s: statuses[i]! })).filter((x) => x.s.kind !== 'ok' && x.s.kind !== 'partial');

  const banner =
    failing.length > 0
      ? failing
          .map(
            ({ r, s }) =>
              `<div class="banner bad" data-variant="${esc(r.label)}" data-status="${s.kind}">${esc(s.label)} in ${esc(r.label)} (${s.count} of ${s.of} seed${s.of > 1 ? 's' : ''})<div class="detail">${esc(s.detail)}</div></div>`,
          )
          .join('')
      : opts.partial === undefined
        ? `<div class="banner ok" data-status="ok">Every variant completed: no violation, no livelock</div>`
        : '';
  const partialBanner = opts.partial === undefined ? '' : `<div class="banner bad" data-status="partial">Not every run completed: ${esc(opts.partial)}</div>`;

  const zapped = rows.some((r) => r.results.some((x) => x.metrics.zapAll.started > 0));
  const cards = rows
    .map((r, i) => {
      const s = statuses[i]!;
      const cls = statusClass(s.kind);
      const z = (k: 'started' | 'completed') => mean(r.results.map((x) => x.metrics.zapAll[k]));
      const fig = (key: string) => {
        const row = METRIC_ROWS.find((m) => m.key === key)!;
        return esc(agg(row, r.results).text);
      };
      const zapBad = r.results.some(zapNeverFinished);
      // Where no run of any variant started a zap-all, "0 of 0" says nothing of the variants.
      const zapCard = zapped
        ? `<dt>zap-all completed</dt><dd class="${zapBad ? 'bad' : ''}" data-card-metric="zapAll.completed">${fmtInt(z('completed'))} of ${fmtInt(z('started'))}${zapBad ? ' ⚠ never finished' : ''}</dd>\n`
        : '';
      return `<div class="card ${cls}" data-variant="${esc(r.label)}" data-status="${s.kind}">
<h3><span class="badge ${cls}">${esc(s.kind === 'ok' ? 'OK' : s.label)}</span> ${esc(r.label)}</h3>
<dl>
${zapCard}<dt>fault latency p99</dt><dd>${fig('faults.latencyNs.p99')}</dd>
<dt>mmu_lock wait p99</dt><dd>${fig('mmuLock.waitNs.p99')}</dd>
<dt>guest accesses</dt><dd>${fig('guest.accesses')}</dd>
<dt>virtual time run</dt><dd>${esc(fmtNs(mean(r.results.map((x) => x.simTimeNs))))}</dd>
<dt>seeds</dt><dd>${r.results.map((x) => `<span class="badge ${statusClass(runStatus(x).kind)}" title="${esc(runStatus(x).detail)}">${x.seed}</span>`).join(' ')}</dd>
</dl></div>`;
    })
    .join('');

  let group = '';
  const trs: string[] = [];
  trs.push(
    `<tr><th>status</th>${rows.map((r, i) => `<td class="${statusClass(statuses[i]!.kind) === 'bad' ? 'bad' : ''}" data-variant="${esc(r.label)}" data-metric="status">${esc(statuses[i]!.kind === 'ok' ? 'OK' : `${statuses[i]!.label} (${statuses[i]!.count}/${statuses[i]!.of})`)}</td>`).join('')}</tr>`,
  );
  for (const row of metricRowsFor(rows.flatMap((r) => r.results))) {
    if (row.group !== group) {
      group = row.group;
      trs.push(`<tr class="group"><th colspan="${rows.length + 1}">${esc(group)}</th></tr>`);
    }
    trs.push(
      `<tr><td>${esc(row.label)}</td>${rows
        .map((r) => {
          // A feature's figure no run of this variant has (the ring's under a bitmap): '-', not 0.
          if (row.has !== undefined && !r.results.some(row.has))
            return `<td class="num" data-variant="${esc(r.label)}" data-metric="${esc(row.key)}" data-value="">-</td>`;
          const a = agg(row, r.results);
          const bad = r.results.some((x) => row.bad?.(x) ?? false);
          return `<td class="num${bad ? ' bad' : ''}" data-variant="${esc(r.label)}" data-metric="${esc(row.key)}" data-value="${a.v}">${esc(a.text)}</td>`;
        })
        .join('')}</tr>`,
    );
  }
  const table = `<table class="compare"><tr><th>metric</th>${rows.map((r) => `<th>${esc(r.label)}</th>`).join('')}</tr>${trs.join('')}</table>`;

  const charts = compareCharts(rows);
  const withSeries = rows.every((r) => r.series !== undefined && r.series.length > 0);
  const axisEnd = withSeries ? Math.max(...rows.map((r) => r.series![0]!.endNs)) : 0;
  const timelines = withSeries
    ? `<h2>Timelines (first seed of each variant, same time axis)</h2>${timelineLegend()}${rows
        .map((r, i) => {
          const s = r.series![0]!;
          // From the run's own facts, as the table's status row has them: a run that ran its time
          // (or its accesses, which may take less time than another variant's) did not stop early.
          const st = runStatus(r.results[0]!);
          const early = st.kind === 'ok' ? '' : ` <span class="note">— the run stopped at ${esc(fmtNs(r.results[0]!.simTimeNs))} (${esc(st.label)})</span>`;
          return `<h3>${esc(r.label)}${early}</h3><div class="timeline">${timelineSvg(s, { id: `timeline-${i}`, laneHeight: 11, endNs: axisEnd })}</div>`;
        })
        .join('')}`
    : '';

  const body = `
<h1>mmulab compare: ${esc(scenario)}</h1>
<div class="sub">${rows.length} variants · seed${seeds.length > 1 ? 's' : ''} ${esc(seeds.join(', '))}${seeds.length > 1 ? ` · figures: mean (min–max) over ${seeds.length} seeds` : ''}${(opts.sets ?? []).map((x) => ` · --set ${esc(x)}`).join('')}${first?.mutant ? ` · mutant <span class="bad">${esc(first.mutant)}</span>` : ''}</div>
${banner}${partialBanner}
${opts.description ? `<p>${esc(opts.description)}</p>` : ''}
${opts.command ? `<p class="note">Reproduce: <code>${esc(opts.command)}</code></p>` : ''}
<div class="cards">${cards}</div>
<h2>Side by side</h2>
<div class="bargrid">${barsSection(rows)}</div>
<h2>Charts (same axes for every variant)</h2>
<div class="charts">${charts.map(chartDiv).join('')}</div>
${timelines}
<h2>All figures</h2>
<p class="note">Mean over seeds (a count's to one decimal where the seeds differ, as the text table has it, so that the rows under faults add up); the range (min–max) follows when seeds differ. A percentile or maximum is each run's own, then averaged over the seeds. Red: a livelock, a violation, or a zap that never completed.</p>
${table}
${first ? `<h2>Settings of the first variant</h2>${settingsTable(first.settings, first.mutant)}` : ''}
`;
  return page(`mmulab compare: ${scenario}`, body, charts);
}
