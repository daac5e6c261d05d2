import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { fmtNs } from '../../src/report/duration.js';
import { type ChartSpec, page } from '../../src/report/html-page.js';

test('fmtNs: three significant digits, trailing zeros kept, the unit chosen after rounding (999,600 ns is 1.00ms), whole ns under 1 µs', () => {
  const cases: [number, string][] = [
    [0, '0ns'],
    [950, '950ns'],
    [999.4, '999ns'],
    [999.6, '1.00µs'],
    [3870, '3.87µs'],
    [4100, '4.10µs'],
    [5950, '5.95µs'],
    [22_600, '22.6µs'],
    [950_000, '950µs'],
    [999_600, '1.00ms'],
    [3_040_500, '3.04ms'],
    [20_000_000, '20.0ms'],
    [1_200_000_000, '1.20s'],
    [999_600_000_000, '1000s'],
    [-3870, '-3.87µs'],
  ];
  assert.deepEqual(
    cases.map(([ns]) => [ns, fmtNs(ns)]),
    cases,
  );
});

/**
 * The page's chart script, run with a stand-in for the DOM and uPlot: the
 * options it builds for a chart whose y axis is 'ns' and x axis `x`.
 */
function chartOptions(x: ChartSpec['x']['fmt']) {
  const spec: ChartSpec = {
    id: 'c',
    title: 't',
    kind: 'line',
    x: { label: 'x', fmt: x },
    y: { label: 'y', fmt: 'ns' },
    data: [[1], [1]],
    series: [{ label: 's', color: '#000' }],
  };
  const html = page('t', '', [spec]);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const boot = scripts.at(-1)!;
  const made: { axes: { values: (u: unknown, v: number[]) => string[] }[]; series: { value: (u: unknown, v: number) => string }[] }[] = [];
  const el = { clientWidth: 600, setAttribute() {} };
  const json = /<script type="application\/json" id="mmulab-charts">([\s\S]*?)<\/script>/.exec(html)![1]!;
  const document = { getElementById: (id: string) => (id === 'mmulab-charts' ? { textContent: json } : id === 'c' ? el : null) };
  function uPlot(this: unknown, opts: (typeof made)[number]) {
    made.push(opts);
  }
  uPlot.paths = { bars: () => undefined, stepped: () => undefined };
  runInNewContext(boot, { document, uPlot, window: {} });
  return made[0]!;
}

// A probe: the chart script had its own formatter, 3 digits without trailing zeros and a
// space ("1 ms", "4.1 µs"), so that a chart's legend read otherwise than the table under it.
test("the HTML pages' chart script prints a duration axis and legend with fmtNs itself (its source inlined, no second copy)", () => {
  const opts = chartOptions('log2ns');
  const values = [950, 3870, 4100, 999_600, 20_000_000];
  assert.deepEqual(opts.axes[1]!.values(null, values), values.map(fmtNs));
  assert.deepEqual(
    values.map((v) => opts.series[1]!.value(null, v)),
    values.map(fmtNs),
  );
  // log2 of a duration (the latency histogram's x axis) prints as the duration.
  assert.equal(opts.series[0]!.value(null, 12), fmtNs(4096));
  assert.ok(
    page('t', '', [{ id: 'c', title: 't', kind: 'line', x: { label: 'x', fmt: 'ns' }, y: { label: 'y', fmt: 'ns' }, data: [], series: [] }]).includes(
      fmtNs.toString(),
    ),
  );
});
