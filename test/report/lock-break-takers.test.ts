import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderCompare, runCompare } from '../../src/cli/compare.js';
import { summarizeRun } from '../../src/cli/summary.js';
import { renderRunReport } from '../../src/report/html-run.js';
import { PerfettoSink } from '../../src/report/perfetto.js';
import { SeriesSink } from '../../src/report/series.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runWith } from './fixtures.js';

// Probe of threads 000/002 (helper-115, finding b): no output said who took mmu_lock in a zap's lock breaks nor how
// long the zapper was without it. In memslot-delete-lockbreak-mini (seed 1) kvm_zap_obsolete_pages breaks twice and
// both vCPUs take the lock in each break (freeing their obsolete roots), the second break lasting 5.65µs.
test("who took mmu_lock in the lock breaks: the JSON's figures, the summary's row, the report's table agree", () => {
  const series = new SeriesSink();
  const perfetto = new PerfettoSink('memslot-delete-lockbreak-mini');
  const r = runWith(loadScenario('memslot-delete-lockbreak-mini'), [series, perfetto], { seed: 1 });
  const l = r.metrics.mmuLock;
  assert.deepEqual([l.lockBreaks, l.breaksYielded, l.breakAcquires, l.breakOffMaxNs], [2, 2, 4, 5650]);
  const row = summarizeRun(r)
    .split('\n')
    .find((x) => x.startsWith('  others took the lock in (acq), longest'));
  assert.match(row ?? '', / 2 \(4\), 5\.65µs$/);
  const s = series.finish(r.simTimeNs);
  assert.deepEqual(s.lockBreaks.takers, [
    { name: 'vCPU0', breaks: 2, holds: 2 },
    { name: 'vCPU1', breaks: 2, holds: 2 },
  ]);
  assert.equal(s.lockBreaks.breaksYielded, l.breaksYielded);
  // The zapper's wait at each break, charted: its longest is the JSON's.
  assert.deepEqual(s.lockBreaks.retake.offNs, [450, 5650]);
  const html = renderRunReport(r, { series: s });
  assert.match(html, /id="break-takers-note">2 of 2 lock breaks of kvm_zap_obsolete_pages/);
  assert.match(html, /data-metric="mmuLock.breakAcquires" data-value="4"/);
  assert.match(html, /id="run-zap-retake" data-series="time without mmu_lock"/);
  // Perfetto's lock-break instants carry them as args: 2 + 2 acquisitions, the longest break 5,650 ns.
  const trace = JSON.parse([...perfetto.render({ endNs: r.simTimeNs })].join('')) as { traceEvents: { name: string; args?: Record<string, unknown> }[] };
  const breaks = trace.traceEvents.filter((e) => e.args?.event === 'lockBreak').map((e) => [e.args!.othersTook, e.args!.retakenAfterNs]);
  assert.equal(breaks.length, 2);
  assert.equal(
    breaks.reduce((n, b) => n + (b[0] as number), 0),
    4,
  );
  assert.equal(Math.max(...breaks.map((b) => b[1] as number)), 5650);
  // A run with no lock break has no such row.
  const none = runWith(loadScenario('memslot-delete-mini'), [], { seed: 1 });
  assert.ok(!summarizeRun(none).includes('others took the lock in'));
});

test("compare's table has the lock-break takers and mmu_valid_gen toggles, '-' for a variant without them", () => {
  const c = runCompare(loadScenario('memslot-delete-lockbreak-mini'), {}, [{ key: 'memslotFlush', values: ['zap-all-fast', 'zap-slot'] }], [1], {
    mutant: null,
  });
  const lines = renderCompare(c).split('\n');
  const row = (name: string) =>
    lines
      .find((l) => l.startsWith(name))
      ?.trim()
      .split(/\s{2,}/)
      .slice(1);
  assert.deepEqual(row('  others took the lock in'), ['2', '-']);
  assert.deepEqual(row('  acq by others in breaks'), ['4', '-']);
  assert.deepEqual(row('  longest lock break'), ['5.65µs', '-']);
  assert.deepEqual(row('mmu_valid_gen toggles'), ['1', '-']);
});
