import type { RunResult } from '../simulate/result.js';
import { fmtNs } from './duration.js';
import { type ChartSpec, chartDiv, esc, fmtInt, PALETTE, page } from './html-page.js';
import { timelineLegend, timelineSvg } from './html-timeline.js';
import { type MetricRow, metricRowsFor, runStatus, statusClass } from './metric-rows.js';
import { actedWords } from './mutant-acted.js';
import type { RunSeries } from './series.js';

/** What a run report can show besides the RunResult. */
export interface RunReportExtras {
  /** Time series, distributions and timeline recorded during the run (SeriesSink). */
  series?: RunSeries;
  /** The scenario's description. */
  description?: string;
  /** The scenario as given (YAML or JSON), shown folded. */
  scenarioText?: string;
  /** The command that produced the run, shown for reproduction. */
  command?: string;
}

/** A value as the tables print it. */
export function fmtMetric(row: MetricRow, v: number): string {
  return row.unit === 'ns' ? fmtNs(v) : fmtInt(v);
}

/** Settings as a two-column table; `acted`, a run's: how many times its mutant acted (RunResult.mutantActed). */
export function settingsTable(settings: object, mutant: string | null, acted?: number): string {
  const rows = Object.entries(settings).map(([k, v]) => `<tr><th>${esc(k)}</th><td class="mono" data-setting="${esc(k)}">${esc(String(v))}</td></tr>`);
  rows.push(
    `<tr><th>mutant</th><td class="mono${mutant ? ' bad' : ''}" data-setting="mutant">${esc(mutant ?? 'none (the kernel protocol)')}${mutant ? mutantActed(acted) : ''}</td></tr>`,
  );
  return `<table class="settings">${rows.join('')}</table>`;
}

/** " (acted 35 times)" after a mutant's name, as run's header says it, or nothing when the count is not known. */
function mutantActed(acted: number | undefined): string {
  return acted === undefined ? '' : ` <span class="note" data-mutant-acted="${acted}">(${esc(actedWords(acted))})</span>`;
}

/** Time axis of a series, bin starts in ns. */
export function binTimes(s: RunSeries): number[] {
  return Array.from({ length: s.bins }, (_, i) => Math.round(i * s.binNs));
}

/** The charts of one run. */
export function runCharts(s: RunSeries, prefix = 'run'): ChartSpec[] {
  const t = binTimes(s);
  const binLabel = fmtNs(s.binNs);
  const charts: ChartSpec[] = [];
  if (s.latency.counts.length > 0) {
    charts.push({
      id: `${prefix}-latency`,
      title: 'Fault latency distribution (resolved faults, first exit to fix)',
      kind: 'bars',
      // Buckets are a quarter octave wide: on a log2 axis every bar has the same width.
      x: { label: 'latency', fmt: 'log2ns' },
      y: { label: 'faults', fmt: 'num' },
      data: [s.latency.edgesNs.map((e) => Math.round(Math.log2(e) * 100) / 100), s.latency.counts],
      series: [{ label: 'faults', color: PALETTE[0]! }],
    });
  }
  charts.push({
    id: `${prefix}-lock`,
    title: `mmu_lock over time (time-average threads per ${binLabel} bin)`,
    kind: 'step',
    x: { label: 'virtual time', fmt: 'ms' },
    y: { label: 'threads', fmt: 'num' },
    data: [t, s.lock.write, s.lock.read, s.lock.waiting],
    series: [
      { label: 'holding (write)', color: '#6a1b9a' },
      { label: 'holding (read)', color: '#1e88e5' },
      { label: 'waiting', color: '#e53935' },
    ],
  });
  charts.push({
    id: `${prefix}-activity`,
    title: `Activity over time (events per ${binLabel} bin)`,
    kind: 'step',
    x: { label: 'virtual time', fmt: 'ms' },
    y: { label: 'events', fmt: 'num' },
    data: [t, s.activity.accesses, s.activity.faults, s.activity.retries],
    series: [
      { label: 'guest accesses', color: '#2ca02c' },
      { label: 'faults', color: '#ff7f0e' },
      { label: 'fault retries', color: '#d62728' },
    ],
  });
  const left = s.lockBreaks.left;
  if (left !== null) {
    // Thread 000's livelock at a glance: the fast zap's walk falls at every break; the lock-break zap-all's
    // restarts from the head stay flat or grow (the vCPUs' new pages), and a walk that stops early ends above 0.
    const obsolete = left.holder === 'kvm_zap_obsolete_pages';
    charts.push({
      id: `${prefix}-zap-left`,
      title: `${left.holder}: ${obsolete ? 'obsolete pages' : 'pages'} left to zap (its begin, each mmu_lock break, its walk's end)`,
      kind: 'line',
      x: { label: 'virtual time', fmt: 'ms' },
      y: { label: 'pages left', fmt: 'num', zero: true },
      data: [left.timesNs, left.pages],
      series: [{ label: obsolete ? 'obsolete pages left' : 'pages left (active_mmu_pages)', color: PALETTE[3]! }],
    });
    // Who waited at each break: the zapper, for the threads that took mmu_lock in it (the table below names them).
    charts.push({
      id: `${prefix}-zap-retake`,
      title: `${left.holder}: time without mmu_lock at each lock break (drop to re-take)`,
      kind: 'line',
      x: { label: 'virtual time', fmt: 'ms' },
      y: { label: 'drop to re-take', fmt: 'ns', zero: true },
      data: [s.lockBreaks.retake.timesNs, s.lockBreaks.retake.offNs],
      series: [{ label: 'time without mmu_lock', color: PALETTE[5]! }],
    });
  }
  return charts;
}

/** Who took mmu_lock in the zap-alls' lock breaks (threads 000, 002): a table, or nothing without breaks. */
function breakTakersSection(s: RunSeries): string {
  const b = s.lockBreaks;
  if (b.breaks === 0) return '';
  const rows = b.takers.map(
    (t) => `<tr><td class="mono">${esc(t.name)}</td><td class="num">${fmtInt(t.breaks)}</td><td class="num">${fmtInt(t.holds)}</td></tr>`,
  );
  return `<h3>Who took mmu_lock in the zap's lock breaks</h3><p class="note" id="break-takers-note">${fmtInt(b.breaksYielded)} of ${fmtInt(b.breaks)} lock break${b.breaks === 1 ? '' : 's'} of ${esc(b.left?.holder ?? 'the zap')} let another thread take mmu_lock before the zapper had it back.</p>${
    rows.length > 0
      ? `<table class="summary" id="break-takers"><tr><th>thread</th><th>breaks it took mmu_lock in</th><th>holds begun in breaks</th></tr>${rows.join('')}</table>`
      : ''
  }`;
}

/** A latency chart from the result's percentiles alone (no series recorded). */
function percentileChart(r: RunResult): ChartSpec {
  const l = r.metrics.faults.latencyNs;
  return {
    id: 'run-latency',
    title: 'Fault latency percentiles',
    kind: 'line',
    x: { label: 'percentile', fmt: 'pct' },
    y: { label: 'latency', fmt: 'ns' },
    data: [
      [50, 90, 99, 100],
      [l.p50, l.p90, l.p99, l.max],
    ],
    series: [{ label: 'fault latency', color: PALETTE[0]! }],
  };
}

/** The summary: one small table per group of figures. */
function summaryTable(r: RunResult): string {
  const groups = new Map<string, string[]>();
  for (const row of metricRowsFor([r])) {
    const g = groups.get(row.group) ?? [];
    groups.set(row.group, g);
    const v = row.get(r);
    const bad = row.bad?.(r) ?? false;
    // A duration the run did not measure (no invalidation completed): '-', not 0 ns.
    const has = row.has?.(r) ?? true;
    g.push(
      `<tr><td>${esc(row.label)}</td><td class="num${bad ? ' bad' : ''}" data-metric="${esc(row.key)}" data-value="${has ? v : ''}">${has ? esc(fmtMetric(row, v)) : '-'}</td></tr>`,
    );
  }
  const tables = [...groups].map(([name, rows]) => `<table class="summary"><tr class="group"><th colspan="2">${esc(name)}</th></tr>${rows.join('')}</table>`);
  return `<div class="summary-grid" id="summary">${tables.join('')}</div>`;
}

function violationsSection(r: RunResult, s: RunSeries | undefined): string {
  if (r.violations.length === 0 && r.modelBug === null) return '<h2>Violations</h2><p class="note">None: every safety property held after every step.</p>';
  const rows = r.violations.map(
    (v) =>
      `<tr class="violation"><td class="mono">${esc(v.kind)}</td><td class="mono">${esc(v.thread)}</td><td class="num">${esc(fmtNs(v.timeNs))}</td><td class="num">${v.step}</td><td>${esc(v.message)}</td></tr>`,
  );
  let out = `<h2>Violations</h2><table class="violations"><tr><th>property</th><th>thread</th><th>time</th><th>step</th><th>what happened</th></tr>${rows.join('')}</table>`;
  if (r.modelBug !== null) out += `<div class="banner bad">Model bug<div class="detail mono">${esc(r.modelBug)}</div></div>`;
  if (s !== undefined && s.tail.length > 0) {
    const bad = new Set(r.violations.map((v) => v.step));
    const lines = s.tail.map(
      (l) =>
        `<tr${bad.has(l.step) ? ' class="violating"' : ''}><td class="num">${l.step}</td><td class="num">${esc(fmtNs(l.timeNs))}</td><td class="mono">${esc(l.thread)}</td><td class="mono">${esc(l.text)}</td></tr>`,
    );
    out += `<h3>The steps that led to it (last ${s.tail.length} events; the violating step is red)</h3><table class="tail"><tr><th>step</th><th>time</th><th>thread</th><th>event</th></tr>${lines.join('')}</table>`;
  }
  return out;
}

/** One run as a self-contained HTML page. */
export function renderRunReport(r: RunResult, extras: RunReportExtras = {}): string {
  const s = extras.series;
  const st = runStatus(r);
  const charts = s !== undefined ? runCharts(s) : [percentileChart(r)];
  const body = `
<h1>mmulab run: ${esc(r.scenario)}</h1>
<div class="sub">seed ${r.seed}${
    r.size
      ? ` · ${esc(
          Object.entries(r.size)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        )}`
      : ''
  } · ${esc(fmtNs(r.simTimeNs))} of virtual time · ${fmtInt(r.steps)} steps${r.mutant ? ` · mutant <span class="bad">${esc(r.mutant)}</span>${mutantActed(r.mutantActed)}` : ''}</div>
<div class="banner ${statusClass(st.kind)}" id="status" data-status="${st.kind}">${esc(st.label)}<div class="detail">${esc(st.detail)}</div></div>
${extras.description ? `<p>${esc(extras.description)}</p>` : ''}
${extras.command ? `<p class="note">Reproduce: <code>${esc(extras.command)}</code></p>` : ''}
<h2>Settings</h2>
${settingsTable(r.settings, r.mutant, r.mutantActed)}
${extras.scenarioText ? `<details><summary>Scenario</summary><pre class="mono">${esc(extras.scenarioText)}</pre></details>` : ''}
<h2>Summary</h2>
${summaryTable(r)}
<h2>Charts</h2>
${s?.truncatedAtNs != null ? `<div class="banner warn">Charts and timeline cover the first ${esc(fmtNs(s.truncatedAtNs))} only<div class="detail">The run produced more events than the recording budget; the summary table covers the whole run.</div></div>` : ''}
<div class="charts">${charts.map(chartDiv).join('')}</div>
${s !== undefined ? breakTakersSection(s) : ''}
${
  s !== undefined
    ? `<h2>Timeline</h2><p class="note">What each thread mostly did in each slice of ${esc(fmtNs(s.binNs))}; hover a bar for its span.</p>${timelineLegend()}<div class="timeline">${timelineSvg(s, { id: 'timeline' })}</div>`
    : ''
}
${violationsSection(r, s)}
<p class="note">Virtual times come from the scenario's cost table: compare variants, not absolute figures. Wall time of this run: ${r.wallMs} ms.</p>
`;
  return page(`mmulab run: ${r.scenario}`, body, charts);
}
