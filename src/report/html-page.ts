import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fmtNs } from './duration.js';

/**
 * The shell every HTML report shares: one self-contained page, styles and
 * scripts inlined (uPlot's minified build is read from node_modules when the
 * report is written), so that it opens from file:// with no network.
 */

/** How axis values print: durations (ns), virtual time (ms), percent, plain, or log2 of a duration. */
export type AxisFormat = 'ns' | 'ms' | 'pct' | 'num' | 'log2ns';

/** A chart drawn by uPlot in the page. */
export interface ChartSpec {
  /** Element id of its container. */
  id: string;
  title: string;
  /** 'line': polyline; 'bars': a bar per x; 'step': a staircase. */
  kind: 'line' | 'bars' | 'step';
  /** x axis: label, log scale, how values print ('ns' durations, 'ms' virtual time, 'pct', 'num'). */
  x: { label: string; log?: boolean; fmt: AxisFormat };
  /** y axis, likewise; `zero`: from 0 up, not fitted to the data (a fall from 103,603 to 103,582 is no fall to 0). */
  y: { label: string; log?: boolean; fmt: AxisFormat; zero?: boolean };
  /** uPlot's aligned data: [xs, ys of series 1, ...]; null leaves a gap. */
  data: (number | null)[][];
  /** One per y array. */
  series: { label: string; color: string }[];
}

/** HTML-escapes text for element content and attribute values. */
export function esc(s: string | number | boolean | null | undefined): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** An integer with thin grouping. */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Colours of series, in order; red is left out: it means trouble on these pages. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#393b79'];

let assets: { js: string; css: string } | null = null;

/** uPlot's minified script and stylesheet, read once from the installed package. */
function uplotAssets(): { js: string; css: string } {
  if (assets === null) {
    const require = createRequire(import.meta.url);
    const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    assets = { js: js.replace(/<\/script/gi, '<\\/script'), css };
  }
  return assets;
}

const STYLE = `
:root { --bad: #c62828; --bad-bg: #fdecea; --ok: #2e7d32; --ok-bg: #e8f5e9; --warn: #8a6d00; --warn-bg: #fff8e1; --fg: #1b1b1b; --muted: #666; --line: #ddd; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; padding: 20px 28px 60px; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin-bottom: 14px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.group th { background: #e6e6e6; text-align: left; }
.summary-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; align-items: start; }
.summary-grid table { width: 100%; }
svg.bars { max-width: 100%; height: auto; }
.bargrid { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 10px 24px; }
tr.violating td { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.banner { border-radius: 6px; padding: 12px 16px; margin: 12px 0; font-size: 16px; font-weight: 600; border: 2px solid; }
.banner.bad { background: var(--bad-bg); border-color: var(--bad); color: var(--bad); }
.banner.ok { background: var(--ok-bg); border-color: var(--ok); color: var(--ok); }
.banner.warn { background: var(--warn-bg); border-color: var(--warn); color: var(--warn); }
.banner .detail { font-weight: 400; font-size: 14px; color: var(--fg); margin-top: 4px; }
.badge { display: inline-block; border-radius: 4px; padding: 2px 8px; font-weight: 700; font-size: 12px; color: #fff; letter-spacing: .03em; }
.badge.bad { background: var(--bad); color: #fff; } .badge.ok { background: var(--ok); color: #fff; } .badge.warn { background: var(--warn); color: #fff; }
td.bad, span.bad { background: var(--bad-bg); color: var(--bad); font-weight: 700; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; min-height: 320px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 14px; }
.card { background: #fff; border: 2px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card.bad { border-color: var(--bad); background: var(--bad-bg); } .card.ok { border-color: var(--ok); }
.card h3 { margin: 0 0 8px; font-size: 15px; } .card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0; }
.card dt { color: var(--muted); } .card dd { margin: 0; font-variant-numeric: tabular-nums; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 6px 0; font-size: 12.5px; }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -2px; background: var(--c); border: 1px solid #0002; }
.timeline { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow-x: auto; }
.note { color: var(--muted); font-size: 13px; }
`;

/** Turns the chart specs in the page into uPlot charts; runs at view time. Durations print with fmtNs itself, its source inlined. */
const BOOT = `
(function () {
  var specs = JSON.parse(document.getElementById('mmulab-charts').textContent);
  ${fmtNs.toString()}
  function fmt(kind, v) {
    if (v == null || !isFinite(v)) return '';
    if (kind === 'log2ns') return fmt('ns', Math.pow(2, v));
    if (kind === 'ns') return fmtNs(v);
    if (kind === 'ms') return +(v / 1e6).toPrecision(4) + 'ms';
    if (kind === 'pct') return +v.toPrecision(4) + '%';
    return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : +v.toPrecision(3) + '';
  }
  var made = [];
  specs.forEach(function (s) {
    var el = document.getElementById(s.id);
    if (!el) return;
    var paths = s.kind === 'bars' ? uPlot.paths.bars({ size: [0.85, 60] }) : s.kind === 'step' ? uPlot.paths.stepped({ align: 1 }) : undefined;
    var opts = {
      title: s.title,
      width: Math.max(300, el.clientWidth - 16),
      height: 260,
      scales: { x: { time: false, distr: s.x.log ? 3 : 1 }, y: s.y.zero ? { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.05 : 1]; } } : { distr: s.y.log ? 3 : 1 } },
      axes: [
        { label: s.x.label, values: function (u, vals) { return vals.map(function (v) { return fmt(s.x.fmt, v); }); } },
        { label: s.y.label, size: 70, values: function (u, vals) { return vals.map(function (v) { return fmt(s.y.fmt, v); }); } }
      ],
      series: [{ label: s.x.label, value: function (u, v) { return fmt(s.x.fmt, v); } }].concat(s.series.map(function (se) {
        return { label: se.label, stroke: se.color, width: 1.6, fill: s.kind === 'bars' ? se.color + '99' : undefined, paths: paths,
          points: { show: s.kind === 'line' && s.data[0].length <= 12 }, value: function (u, v) { return fmt(s.y.fmt, v); } };
      }))
    };
    el.setAttribute('data-rendered', 'uplot');
    made.push(new uPlot(opts, s.data, el));
  });
  window.mmulabCharts = made;
})();
`;

/**
 * A complete page: `body` is trusted HTML built with esc(); `charts` are drawn
 * by uPlot at view time. No external URL is referenced.
 */
export function page(title: string, body: string, charts: ChartSpec[] = []): string {
  const { js, css } = charts.length > 0 ? uplotAssets() : { js: '', css: '' };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mmulab">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${STYLE}</style>
</head>
<body>
${body}
${
  charts.length > 0
    ? `<script type="application/json" id="mmulab-charts">${scriptJson(charts)}</script>
<script>${js}</script>
<script>${BOOT}</script>`
    : ''
}
</body>
</html>
`;
}

/** A chart's container; `data-series` lists its series for readers and tests. */
export function chartDiv(spec: ChartSpec): string {
  return `<div class="chart" id="${esc(spec.id)}" data-series="${esc(spec.series.map((s) => s.label).join('|'))}"></div>`;
}
