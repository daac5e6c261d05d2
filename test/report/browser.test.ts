/**
 * The HTML reports in a real browser: Debian's chromium, headless, driven by
 * playwright-core. Each kind of report (run, compare, counterexample) is opened
 * from file://; the page must make no request but its own file, its charts
 * must render with the expected series, its tables must hold the run's
 * figures, and a screenshot goes to test-output/. Without /usr/bin/chromium
 * the tests skip, except under CI=true, where they fail.
 */
// The functions given to evaluate and waitForFunction run in the page: they are typed against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { fmtMetric } from '../../src/report/html-run.js';
import { METRIC_ROWS } from '../../src/report/metric-rows.js';
import { SeriesSink } from '../../src/report/series.js';
import { writeCexReport, writeCompareReport, writeRunReport } from '../../src/report/write.js';
import { realCounterexample, runWith, shortScenario } from './fixtures.js';
import { LIVELOCK_SCENARIO, livelockCompareRows } from './livelock.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const OUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output');
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SKIP = HAVE_CHROMIUM ? false : process.env.CI ? false : `no ${CHROMIUM} (apt-get install chromium); skipped outside CI`;

let browser: Browser | null = null;
let dir = '';

before(async () => {
  if (!HAVE_CHROMIUM) {
    // Under CI a missing browser is a failure, not a skip.
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run must install Debian's chromium`);
    return;
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  dir = mkdtempSync(join(tmpdir(), 'mmulab-browser-'));
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  url: string;
}

/** Opens a report from file://, recording every request, and waits for its charts. */
async function open(file: string, charts: boolean): Promise<Opened> {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  if (charts) await page.waitForFunction(() => (window as unknown as { mmulabCharts?: unknown[] }).mmulabCharts !== undefined, null, { timeout: 10_000 });
  assert.deepEqual(errors, [], 'the page ran without script errors');
  return { page, requests, url };
}

/** What each chart container shows once uPlot has drawn it. */
async function chartsOf(page: Page) {
  return page.$$eval('.chart', (els) =>
    els.map((el) => {
      const canvas = el.querySelector('canvas');
      let inked = 0;
      if (canvas !== null) {
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) inked++;
      }
      return {
        id: el.id,
        rendered: el.getAttribute('data-rendered'),
        labels: [...el.querySelectorAll('.u-legend .u-series .u-label')].map((x) => x.textContent ?? ''),
        inked,
      };
    }),
  );
}

async function metricCells(page: Page, variant?: string) {
  return page.$$eval(variant === undefined ? 'td[data-metric]' : `td[data-metric][data-variant="${variant}"]`, (tds) =>
    tds.map((td) => ({
      key: td.getAttribute('data-metric')!,
      value: td.getAttribute('data-value'),
      text: td.textContent ?? '',
      bad: td.classList.contains('bad'),
    })),
  );
}

test('browser: run report (apic-page-reload seed 1) opens offline, draws its charts and holds the run figures', { skip: SKIP }, async () => {
  const s = shortScenario('apic-page-reload', 800_000);
  const series = new SeriesSink();
  const r = runWith(s, [series]);
  const file = join(dir, 'run.html');
  writeRunReport(file, r, { series: series.finish(r.simTimeNs), description: s.description, command: 'mmulab run apic-page-reload --report run.html' });
  const { page, requests, url } = await open(file, true);
  assert.deepEqual(requests, [url], 'no request but the page itself');
  const charts = await chartsOf(page);
  assert.deepEqual(
    charts.map((c) => [c.id, c.rendered, c.labels]),
    [
      ['run-latency', 'uplot', ['latency', 'faults']],
      ['run-lock', 'uplot', ['virtual time', 'holding (write)', 'holding (read)', 'waiting']],
      ['run-activity', 'uplot', ['virtual time', 'guest accesses', 'faults', 'fault retries']],
    ],
  );
  for (const c of charts) assert.ok(c.inked > 1000, `${c.id} has something drawn (${c.inked} pixels)`);
  const cells = new Map((await metricCells(page)).map((c) => [c.key, c]));
  for (const row of METRIC_ROWS) {
    // A duration the run did not measure (no zap-all ran): '-' and no value, not 0 ns.
    const has = row.has?.(r) ?? true;
    assert.equal(Number(cells.get(row.key)?.value), has ? row.get(r) : 0, row.key);
    assert.equal(cells.get(row.key)?.text, has ? fmtMetric(row, row.get(r)) : '-', row.key);
  }
  // A figure and its unit stay on one line (a probe: the summary's narrow columns wrapped "800 / ns", "3.50 / µs").
  const wrapped = await page.$$eval('td.num[data-metric]', (tds) =>
    tds.flatMap((td) => {
      const range = document.createRange();
      range.selectNodeContents(td);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      return lines.size > 1 ? [`${td.getAttribute('data-metric')}: ${td.textContent}`] : [];
    }),
  );
  assert.deepEqual(wrapped, [], 'figures broken over two lines');
  assert.ok((await page.$$('#timeline rect.seg')).length > 10, 'the timeline has segments');
  assert.equal(await page.textContent('#status'), 'OKno violation, no livelock');
  await page.screenshot({ path: join(OUT, 'report-run.png'), fullPage: true });
  await page.close();
});

test(`browser: compare ${LIVELOCK_SCENARIO.replace(/^.*\//, '')} zap-all-lockbreak vs zap-all-fast, seeds 1-2: the livelock is plain at a glance`, {
  skip: SKIP,
}, async () => {
  const rows = livelockCompareRows();
  const file = join(dir, 'compare.html');
  writeCompareReport(file, rows, {
    command: `mmulab compare ${LIVELOCK_SCENARIO} --vary memslotFlush=zap-all-lockbreak,zap-all-fast --seeds 2 --report compare.html`,
  });
  const { page, requests, url } = await open(file, true);
  assert.deepEqual(requests, [url], 'no request but the page itself');
  const labels = rows.map((r) => r.label);
  const charts = await chartsOf(page);
  assert.deepEqual(
    charts.map((c) => [c.id, c.rendered, c.labels]),
    [
      ['cmp-latency', 'uplot', ['percentile', ...labels]],
      ['cmp-lock-wait', 'uplot', ['virtual time', ...labels]],
      ['cmp-lock-write', 'uplot', ['virtual time', ...labels]],
      ['cmp-accesses', 'uplot', ['virtual time', ...labels]],
      ['cmp-retries', 'uplot', ['virtual time', ...labels]],
      ['cmp-zap-left', 'uplot', ['virtual time', ...labels]],
    ],
  );
  for (const c of charts) assert.ok(c.inked > 1000, `${c.id} has something drawn (${c.inked} pixels)`);
  // The livelock is the first thing on the page: a red banner naming the variant, in view without scrolling.
  const stuck = rows.find((r) => r.results.every((x) => x.progress.livelock))!;
  const banner = page.locator('.banner.bad[data-status="livelock"]');
  assert.equal(await banner.count(), 1);
  assert.match((await banner.textContent()) ?? '', new RegExp(`^LIVELOCK in ${stuck.label.replace(/[()]/g, '\\$&')}`));
  const box = await banner.boundingBox();
  assert.ok(box !== null && box.y + box.height < 1000, 'the banner is above the fold');
  const color = await banner.evaluate((el) => getComputedStyle(el).color);
  assert.equal(color, 'rgb(198, 40, 40)', 'the banner is red');
  assert.equal(await page.locator(`.card.bad[data-status="livelock"]`).count(), 1);
  // The zap that never finished is red in the table, for the stuck variant only.
  for (const row of rows) {
    const cells = new Map((await metricCells(page, row.label)).map((c) => [c.key, c]));
    const mean = (f: (x: (typeof row.results)[number]) => number) => row.results.reduce((a, x) => a + f(x), 0) / row.results.length;
    assert.equal(
      Number(cells.get('faults.total')!.value),
      mean((x) => x.metrics.faults.total),
      `${row.label} faults`,
    );
    assert.equal(
      Number(cells.get('zapAll.completed')!.value),
      mean((x) => x.metrics.zapAll.completed),
      `${row.label} zap-all completed`,
    );
    assert.equal(cells.get('zapAll.completed')!.bad, row === stuck, `${row.label}: zap-all cell red iff stuck`);
  }
  await page.screenshot({ path: join(OUT, 'report-compare.png'), fullPage: true });
  await page.close();
});

test('browser: counterexample report (checker, apic-reload-mini, apic-reload-no-retry, seed 1) shows the interleaving as swimlanes', {
  skip: SKIP,
}, async () => {
  const cex = realCounterexample();
  const file = join(dir, 'cex.html');
  writeCexReport(file, cex, { replayCommand: 'mmulab replay cex.json' });
  const { page, requests, url } = await open(file, false);
  assert.deepEqual(requests, [url], 'no request but the page itself');
  const lanes = await page.$$eval('#swimlanes thead th.lane', (ths) => ths.map((th) => th.textContent));
  assert.deepEqual([...lanes].sort(), [...new Set(cex.steps.map((s) => s.thread))].sort());
  // Each step's text sits in its thread's column.
  const placed = await page.$$eval('#swimlanes tbody tr', (trs) =>
    trs.flatMap((tr) => [...tr.querySelectorAll('td.act div:not(.why)')].map((d) => [(d.parentElement as HTMLElement).dataset.thread, d.textContent])),
  );
  assert.deepEqual(
    placed,
    cex.steps.map((s) => [s.thread, s.text]),
  );
  const bad = page.locator('#swimlanes tr.violating');
  assert.equal(await bad.count(), 1);
  // Numbered like the printed interleaving: the violation shows at its last step.
  assert.equal(await bad.getAttribute('data-step'), String(cex.steps.length));
  assert.match((await bad.textContent()) ?? '', new RegExp(`✖ ${cex.violation.kind}`));
  assert.equal(
    await bad
      .locator('td')
      .first()
      .evaluate((el) => getComputedStyle(el).color),
    'rgb(198, 40, 40)',
  );
  assert.match((await page.textContent('#violation')) ?? '', new RegExp(cex.violation.message.replace(/[()[\]]/g, '\\$&')));
  await page.screenshot({ path: join(OUT, 'report-cex.png'), fullPage: true });
  await page.close();
});
