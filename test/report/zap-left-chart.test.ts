import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderCompareReport } from '../../src/report/html-compare.js';
import { renderRunReport } from '../../src/report/html-run.js';
import { SeriesSink } from '../../src/report/series.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith } from './fixtures.js';
import { LIVELOCK_SCENARIO, livelockCompareRows } from './livelock.js';

// Probe of threads 000/002 (helper-115, finding a): the run report had no figure of a zap-all's work left at its
// lock breaks, the livelock's cause: the fast zap's walk falls at every break, the lock-break zap-all's restarts
// from the head never do, and the mutant zap-obsolete-walk-from-head ends its walk with obsolete pages left.
const left = (scenario: ReturnType<typeof loadScenario>, opts: Parameters<typeof runWith>[2]) => {
  const series = new SeriesSink();
  const r = runWith(scenario, [series], opts);
  const s = series.finish(r.simTimeNs);
  return { r, s, html: renderRunReport(r, { series: s }) };
};

test("the run report charts a zap-all's pages left at each lock break: falling to 0 under the fast zap, never falling under the lock-break zap-all", () => {
  const fast = left(loadScenario(LIVELOCK_SCENARIO), { seed: 1, settings: { memslotFlush: 'zap-all-fast' } });
  const f = fast.s.lockBreaks.left!;
  assert.equal(f.holder, 'kvm_zap_obsolete_pages');
  assert.ok(f.pages.length > 10, String(f.pages.length));
  for (let i = 1; i < f.pages.length; i++) assert.ok(f.pages[i]! <= f.pages[i - 1]!, `${f.pages[i - 1]} then ${f.pages[i]}`);
  assert.equal(f.pages.at(-1), 0);
  // The chart of the zapper's waits keeps the longest (thinned past 2,000 breaks): the JSON's breakOffMaxNs.
  assert.equal(Math.max(...fast.s.lockBreaks.retake.offNs), fast.r.metrics.mmuLock.breakOffMaxNs);
  assert.match(fast.html, /id="run-zap-left" data-series="obsolete pages left"/);
  // From 0 up: the mutant's 103,603 -> 103,582 must not read as a fall to nothing.
  assert.match(fast.html, /"id":"run-zap-left"[^\]]*?"y":\{"label":"pages left","fmt":"num","zero":true\}/);
  const all = left(loadScenario(LIVELOCK_SCENARIO), { seed: 1, settings: { memslotFlush: 'zap-all-lockbreak' } });
  const a = all.s.lockBreaks.left!;
  assert.equal(a.holder, 'kvm_mmu_zap_all');
  assert.ok(a.pages.length > 10 && a.pages.at(-1)! >= a.pages[1]!, `${a.pages[1]} then ${a.pages.at(-1)}`);
  assert.match(all.html, /id="run-zap-left" data-series="pages left \(active_mmu_pages\)"/);
});

test('under zap-obsolete-walk-from-head the chart ends above 0 (the obsolete pages the walk left), the kernel walk at 0', () => {
  const mini = 'memslot-delete-lockbreak-mini';
  const kernel = left(loadScenario(mini), { seed: 1 }).s.lockBreaks.left!;
  assert.deepEqual(kernel.pages, [8, 4, 2, 0]);
  const mutant = left(loadScenario(mini), { seed: 1, mutant: 'zap-obsolete-walk-from-head' }).s.lockBreaks.left!;
  assert.deepEqual(mutant.pages, [8, 4, 2, 2]);
});

test("compare's report overlays the variants' pages left: the lock-break zap-all's never falls and stops at its run's end, the fast zap's falls to 0", () => {
  const rows = livelockCompareRows([1]);
  const html = renderCompareReport(rows);
  const specs = JSON.parse(/id="mmulab-charts">(.*?)<\/script>/s.exec(html)![1]!) as { id: string; data: (number | null)[][] }[];
  const chart = specs.find((c) => c.id === 'cmp-zap-left')!;
  const [t, lockbreak, fast] = chart.data as [number[], (number | null)[], (number | null)[]];
  const drawn = (ys: (number | null)[]) => ys.filter((y): y is number => y !== null);
  const all = drawn(lockbreak);
  assert.ok(all.length > 10 && all.at(-1)! >= all[0]!, `${all[0]} then ${all.at(-1)}`);
  const end = rows[0]!.results[0]!.simTimeNs;
  assert.ok(t.every((x, i) => x <= end || lockbreak[i] === null));
  const f = drawn(fast);
  assert.equal(f.at(-1), 0);
  assert.ok(f[0]! > 0);
});
