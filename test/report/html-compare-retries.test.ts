import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderCompareReport } from '../../src/report/html-compare.js';
import { runWith, shortScenario } from './fixtures.js';

/** The bars of one side-by-side chart: each variant's label and printed value. */
function bars(html: string, id: string): string[] {
  const svg = new RegExp(`<svg id="${id}"[^>]*>(.*?)</svg>`).exec(html);
  assert.ok(svg, `no chart ${id}`);
  return [...svg[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

// A probe (thread 001): compare faultPrecheck=lockless,off drew only 'retries (all four kinds)', 57,178 vs
// 15,216, the lockless pre-check's variant the longer bar; which retries took mmu_lock was in the table only.
test('html compare faultPrecheck=lockless vs off: side-by-side bars split the retries before mmu_lock (pre-check) from those under it', () => {
  const s = shortScenario('fault-during-invalidation', 400_000);
  const rows = (['lockless', 'off'] as const).map((p) => ({
    label: `faultPrecheck=${p}`,
    results: [runWith(s, [], { seed: 1, settings: { faultPrecheck: p } })],
  }));
  const [lockless, off] = rows.map((r) => r.results[0]!.metrics.faults);
  assert.ok(
    lockless!.retriesBeforeLock > 0 && off!.retriesBeforeLock === 0 && off!.retriesUnderLock > lockless!.retriesUnderLock,
    'the run shows the difference',
  );
  const html = renderCompareReport(rows, { command: 'mmulab compare …' });
  const under = bars(html, 'bars-faults-retriesUnderLock');
  assert.ok(under.includes(String(lockless!.retriesUnderLock)) && under.includes(off!.retriesUnderLock.toLocaleString('en-US')), under.join(' | '));
  const before = bars(html, 'bars-faults-retriesBeforeLock');
  assert.ok(before.includes(lockless!.retriesBeforeLock.toLocaleString('en-US')), before.join(' | '));
});
