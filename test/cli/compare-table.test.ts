import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CompareResult, partialNote, renderCompare } from '../../src/cli/compare.js';
import { summarizeRun } from '../../src/cli/summary.js';
import { renderCompareReport } from '../../src/report/html-compare.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { shortScenario } from '../report/fixtures.js';
import { livelockCompareRows } from '../report/livelock.js';

/** A compare result of `rows`, as `compare` writes one with no mutant, no --set, finished (`rest` overrides). */
function compareOf(rest: Pick<CompareResult, 'scenario' | 'vary' | 'seeds' | 'rows'> & Partial<CompareResult>): CompareResult {
  return { format: 'mmulab-compare/1', mutant: null, sets: [], partial: false, wallMs: 0, ...rest };
}

test('compare table: a partial comparison says which runs were cut short (their column starred) and which never ran', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const off = effectiveSettings(s, { faultPrecheck: 'off' });
  const lockless = effectiveSettings(s, { faultPrecheck: 'lockless' });
  const whole = (seed: number, settings = off) => simulate(s, { settings, mutant: null, seed });
  const cut = simulate(s, { settings: lockless, mutant: null, seed: 1, maxSteps: 10 });
  assert.equal(cut.partial, true);
  const c = compareOf({
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off', 'lockless'], preemptible: [false, true] },
    seeds: [1, 2],
    rows: [
      { label: 'faultPrecheck=off', settings: off, results: [whole(1), whole(2)] },
      { label: 'faultPrecheck=lockless', settings: lockless, results: [cut] },
    ],
    partial: true,
  });
  const text = renderCompare(c);
  assert.match(text, /faultPrecheck=lockless \*/);
  // Counts of a run cut short are of less time: the table says how much each covered (a probe), and that zap-all's longest is of the zaps completed.
  assert.match(text, /\nsimulated time +\S+/);
  assert.doesNotMatch(text, /zap-all\/memslot longest +[0-9]/);
  assert.match(text, /zap-all\/memslot longest \(completed\)/);
  assert.doesNotMatch(text, /faultPrecheck=off \*/);
  const note = text.trim().split('\n').at(-1)!;
  assert.match(note, /^\(partial; \* cut short: faultPrecheck=lockless seed 1 at .*; not run: faultPrecheck=lockless seed 2; 2 variants of 4\)$/);
  // The runs missing are named by seed, wherever they are (a merge of sweep parts may miss any).
  const gap = renderCompare({ ...c, rows: [{ ...c.rows[0]!, results: [c.rows[0]!.results[1]!] }, c.rows[1]!] });
  assert.match(gap.trim().split('\n').at(-1)!, /not run: faultPrecheck=off seed 1; faultPrecheck=lockless seed 2;/);
  // A run that found bad input ran, and stopped the rest: said so, not counted among those never run.
  const failed = renderCompare({ ...c, rows: [c.rows[0]!, { ...c.rows[1]!, results: [] }], failed: 'x', failedCell: 2 });
  assert.match(
    failed.trim().split('\n').at(-1)!,
    /^\(partial; faultPrecheck=lockless seed 1 stopped on bad input; not run: faultPrecheck=lockless seed 2; 2 variants of 4\)$/,
  );
  // A shard holds its own cells only: the others are not missing from it.
  const shard = renderCompare(c, (row, k) => (row * 2 + k) % 2 === 0);
  assert.doesNotMatch(shard, /not run: faultPrecheck=lockless seed 2/);
  // The HTML page says it too, instead of "Every variant completed".
  const html = renderCompareReport(
    c.rows.map((r) => ({ label: r.label, results: r.results, series: [] })),
    { partial: partialNote(c), sets: ['vcpus=3'] },
  );
  // The --set list every variant ran with heads the page, as it heads the table.
  assert.match(html, /seeds 1, 2 · figures: mean \(min–max\) over 2 seeds · --set vcpus=3<\/div>/);
  assert.match(html, /Not every run completed: \(partial; \* cut short: faultPrecheck=lockless seed 1/);
  assert.doesNotMatch(html, /Every variant completed/);
  // Complete: no note, no star.
  const done = renderCompare({ ...c, rows: [c.rows[0]!], vary: { faultPrecheck: ['off'] }, partial: false });
  assert.doesNotMatch(done, /partial|\*/);
});

test('compare table: shadow pages peak is a row only when a variant shadow-pages (under TDP there are none)', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const row = (label: string, mmu: 'tdp' | 'shadow') => {
    const settings = effectiveSettings(s, { mmu });
    return { label, settings, results: [simulate(s, { settings, mutant: null, seed: 1 })] };
  };
  const c = compareOf({
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off', 'lockless'] },
    seeds: [1],
    rows: [row('a', 'tdp'), row('b', 'tdp')],
  });
  assert.doesNotMatch(renderCompare(c), /shadow pages/);
  assert.match(
    renderCompare({ ...c, vary: { mmu: ['tdp', 'shadow'] }, rows: [row('mmu=tdp', 'tdp'), row('mmu=shadow', 'shadow')] }),
    /shadow pages peak +0 +\d+/,
  );
});

test("compare table: the header says a cell is the mean (min-max) over the seeds, and a row of mmu_lock contended acquisitions and the APIC stall summed over vCPUs are there, each the mean of the runs' figures, in the text table and the HTML page (a probe: cells like 72429 (72409-72470) with nothing to say what they were)", () => {
  const s = loadScenario('apic-page-reload');
  s.stop.timeNs = 1_000_000;
  const row = (label: string, apicAccessPage: 'retry' | 'invalidate-range') => {
    const settings = effectiveSettings(s, { apicAccessPage });
    return { label, settings, results: [1, 2].map((seed) => simulate(s, { settings, mutant: null, seed })) };
  };
  const c = compareOf({
    scenario: 'apic-page-reload',
    vary: { apicAccessPage: ['retry', 'invalidate-range'] },
    seeds: [1, 2],
    rows: [row('apicAccessPage=retry', 'retry'), row('apicAccessPage=invalidate-range', 'invalidate-range')],
  });
  const text = renderCompare(c);
  const lines = text.split('\n');
  assert.match(lines[1]!, /^cells: mean \(min-max\) over 2 seeds +apicAccessPage=retry +apicAccessPage=invalidate-range$/);
  assert.match(text, /\n\(p50, p99 and max are each run's, then averaged; min-max shown where the seeds differ, and a count's mean to one decimal\)$/);
  const cellsOf = (label: string) => {
    const l = lines.find((x) => x.startsWith(`${label} `));
    assert.ok(l, `a row '${label}'`);
    return l.slice(label.length).trim().split(/ {2,}/);
  };
  const [retry] = c.rows;
  const contended = retry!.results.map((r) => r.metrics.mmuLock.contended);
  assert.ok(
    contended.every((n) => n > 0),
    `contended acquisitions: ${contended}`,
  );
  // A count's mean to one decimal where the seeds differ, a whole number where they agree.
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const spread = (a: number[]) => (Math.min(...a) === Math.max(...a) ? `${mean(a)}` : `${mean(a).toFixed(1)} (${Math.min(...a)}-${Math.max(...a)})`);
  assert.equal(cellsOf('mmu_lock contended acq')[0], spread(contended));
  assert.equal(cellsOf('faults')[0], spread(retry!.results.map((r) => r.metrics.faults.total)));
  const stalled = retry!.results.map((r) => r.metrics.apic.stalledNs);
  assert.ok(stalled.every((n) => n > 0));
  assert.equal(cellsOf('APIC time re-requesting (sum)').length, 2);
  assert.doesNotMatch(text, /\nAPIC re-requesting +[0-9]/);
  const held = cellsOf('APIC request to next VM-entry (sum)');
  assert.equal(held.length, 2);
  assert.ok(
    held.every((cell) => !cell.startsWith('0ns')),
    held.join(' | '),
  );
  // One seed: the cell is that run's figure, and the header says nothing of means.
  const one = renderCompare({ ...c, seeds: [1], rows: c.rows.map((r) => ({ ...r, results: r.results.slice(0, 1) })) });
  assert.match(one.split('\n')[1]!, /^metric +/);
  assert.doesNotMatch(one, /averaged/);
  // The page: the same rows, under the same words.
  const html = renderCompareReport(c.rows.map((r) => ({ label: r.label, results: r.results })));
  assert.match(html, /seeds 1, 2 · figures: mean \(min–max\) over 2 seeds/);
  assert.match(
    html,
    /<td>contended acquisitions \(had to queue\)<\/td><td class="num" data-variant="apicAccessPage=retry" data-metric="mmuLock.contended" data-value="([0-9.]+)"/,
  );
  const value = Number(/data-variant="apicAccessPage=retry" data-metric="mmuLock.contended" data-value="([0-9.]+)"/.exec(html)![1]);
  assert.equal(value, contended.reduce((x, y) => x + y, 0) / contended.length);
  assert.match(html, /<td>time re-requesting \(summed over vCPUs\)<\/td>/);
  assert.match(
    html,
    /<td>request to next VM-entry \(summed over vCPUs\)<\/td><td class="num" data-variant="apicAccessPage=retry" data-metric="apic.requestToEntryNs"/,
  );
  assert.match(html, /A percentile or maximum is each run's own, then averaged over the seeds/);
});

test("compare table: every way a fault ended is a row, and the rows add up to faults, as in the JSON, the HTML page and run's summary (a probe: faults 20 / 18 with retries 0 / 0 / 0 / 0, where the JSON had 14 retries on an invalid slot and 3 emulated)", () => {
  const s = loadScenario('test/fixtures/memslot-delete-probe.yaml');
  const row = (mmu: 'tdp' | 'shadow') => {
    const settings = effectiveSettings(s, { mmu });
    return { label: `mmu=${mmu}`, settings, results: [simulate(s, { settings, mutant: null, seed: 1 })] };
  };
  const c = compareOf({
    scenario: 'test/fixtures/memslot-delete-probe.yaml',
    vary: { mmu: ['tdp', 'shadow'] },
    seeds: [1],
    rows: [row('tdp'), row('shadow')],
  });
  const lines = renderCompare(c).split('\n');
  const cells = (label: string) => {
    const l = lines.find((x) => x.startsWith(`${label}  `));
    assert.ok(l, `a row '${label}'`);
    return l.slice(label.length).trim().split(/ {2,}/).map(Number);
  };
  const parts: [string, string][] = [
    ['  fixed', 'fixed'],
    ['  spurious', 'spurious'],
    ['  emulated (RET_PF_EMULATE)', 'emulated'],
    ['  retries before lock', 'retriesBeforeLock'],
    ['  retries under lock', 'retriesUnderLock'],
    ['  retries on invalid slot', 'retriesInvalidSlot'],
    ['  retries gpte changed', 'retriesGpteChanged'],
    ['  #PF injected', 'injectedPf'],
    ['  in flight at the stop', 'inFlight'],
  ];
  const html = renderCompareReport(c.rows.map((r) => ({ label: r.label, results: r.results })));
  const page = (variant: string, key: string) =>
    Number(new RegExp(`data-variant="${variant}" data-metric="${key.replace('.', '\\.')}" data-value="([0-9.]+)"`).exec(html)?.[1]);
  for (const [i, r] of c.rows.entries()) {
    const f = r.results[0]!.metrics.faults as unknown as Record<string, number>;
    let sum = 0;
    for (const [label, key] of parts) {
      assert.equal(cells(label)[i], f[key], `${r.label} ${label}`);
      assert.equal(page(r.label, `faults.${key}`), f[key], `${r.label} page faults.${key}`);
      sum += cells(label)[i]!;
    }
    assert.equal(sum, cells('faults')[i], `${r.label}: the rows under faults add up to it`);
    assert.equal(page(r.label, 'faults.total'), f.total);
    assert.equal(cells('MMIO fast-path emulations')[i], r.results[0]!.metrics.mmio.fastPath);
    // run's summary: the same figures, in the same split.
    const text = summarizeRun(r.results[0]!);
    assert.match(text, new RegExp(`faults \\(of which fixed/spurious/emulated\\) +${f.total} \\(${f.fixed} / ${f.spurious} / ${f.emulated}\\)`));
    assert.match(
      text,
      new RegExp(
        `retried \\(pre-lock/locked/slot/gpte\\) +${f.retries} \\(${f.retriesBeforeLock} / ${f.retriesUnderLock} / ${f.retriesInvalidSlot} / ${f.retriesGpteChanged}\\)`,
      ),
    );
  }
  // The probe's figures: TDP 20 = 3 fixed + 3 emulated + 14 retried on the invalid slot; shadow 18 = 3 + 3 + 12.
  assert.deepEqual(cells('faults'), [20, 18]);
  assert.deepEqual(cells('  retries on invalid slot'), [14, 12]);
  assert.deepEqual(cells('  emulated (RET_PF_EMULATE)'), [3, 3]);
});

test('compare table: a column whose runs stopped at a violation or a livelock is marked †, and a line says when each stopped (a probe: rmap-only 3.0 ms and fewer faults read as "fewer faults")', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const settings = effectiveSettings(s, {});
  const run = (seed: number) => simulate(s, { settings, mutant: null, seed });
  const violated = { ...run(2), simTimeNs: 3_040_000, violations: [{ kind: 'accounting', thread: 'vcpu0', timeNs: 3_040_000, step: 9, message: 'm' }] };
  const livelocked = { ...run(3), simTimeNs: 22_100_000, progress: { ...run(3).progress, livelock: true } };
  const c = compareOf({
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off', 'lockless', 'x'] },
    seeds: [1, 2],
    rows: [
      { label: 'a', settings, results: [run(1), violated] },
      { label: 'b', settings, results: [livelocked] },
      { label: 'c', settings, results: [run(1)] },
    ],
  });
  const text = renderCompare(c);
  const header = text.split('\n')[1]!;
  assert.match(header, / a † {2,}b † {2,}c$/);
  assert.match(text, /\n\(† stopped early, its counts of a shorter run: a seed 2 at its violation at 3\.04ms; b seed 3 at its livelock at 22\.1ms\)/);
  // None stopped: no mark, no line.
  assert.doesNotMatch(renderCompare({ ...c, rows: [c.rows[2]!] }), /†/);
});

test('compare table: a duration no run of a column measured is "-", not 0ns, and a mean is of the runs that did (a probe: "zap-all/memslot longest (completed) 0ns" for a zap that never finished)', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const settings = effectiveSettings(s, {});
  const r = simulate(s, { settings, mutant: null, seed: 1 });
  assert.equal(r.metrics.apic.reRequests, 0);
  const unfinished = { ...r, metrics: { ...r.metrics, zapAll: { started: 1, completed: 0, maxDurationNs: 0 } } };
  const finished = { ...r, metrics: { ...r.metrics, zapAll: { started: 1, completed: 1, maxDurationNs: 5000 } } };
  const c = compareOf({
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off', 'lockless'] },
    seeds: [1, 2],
    rows: [
      { label: 'a', settings, results: [unfinished, unfinished] },
      { label: 'b', settings, results: [unfinished, finished] },
    ],
  });
  const row = (label: string) =>
    renderCompare(c)
      .split('\n')
      .find((l) => l.startsWith(`${label}  `))!;
  assert.match(row('zap-all/memslot longest (completed)'), / - {2,}5\.00µs$/);
  assert.match(row('APIC time re-requesting (sum)'), / - {2,}-$/);
  // The HTML page alike.
  const html = renderCompareReport(c.rows.map((x) => ({ label: x.label, results: x.results })));
  assert.match(html, /data-variant="a" data-metric="apic.stalledNs" data-value="">-</);
  assert.match(html, /data-variant="b" data-metric="zapAll.maxDurationNs" data-value="5000">5\.00µs</);
});

test('compare table and page: no min-max range whose ends print alike (a probe: "simulated time 3.0ms (3.0ms-3.0ms)", "fault p99 7.8µs (7.8µs-7.8µs)")', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const settings = effectiveSettings(s, {});
  const r = simulate(s, { settings, mutant: null, seed: 1 });
  const at = (simTimeNs: number) => ({ ...r, simTimeNs });
  const c = compareOf({
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off', 'lockless'] },
    seeds: [1, 2],
    rows: [
      { label: 'a', settings, results: [at(3_040_000), at(3_041_000)] },
      { label: 'b', settings, results: [at(3_040_000), at(3_140_000)] },
    ],
  });
  const row = renderCompare(c)
    .split('\n')
    .find((l) => l.startsWith('simulated time  '))!;
  assert.match(row, / 3\.04ms {2,}3\.09ms \(3\.04ms-3\.14ms\)$/);
  const html = renderCompareReport(c.rows.map((x) => ({ label: x.label, results: x.results })));
  assert.match(html, /data-variant="a" data-metric="simTimeNs" data-value="3040500">3\.04ms</);
  assert.match(html, /data-variant="b" data-metric="simTimeNs" data-value="3090000">3\.09ms \(3\.04ms–3\.14ms\)</);
});

test("compare page: a count's mean is to one decimal where the seeds differ, as the text table has it, so the rows under faults add up (a probe: 'faults 1,175' and 'emulated 83 (77–88)' on the page where the text had 1174.5 and 82.5)", () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const settings = effectiveSettings(s, {});
  const r = simulate(s, { settings, mutant: null, seed: 1 });
  const faults = (total: number, emulated: number) => ({ ...r, metrics: { ...r.metrics, faults: { ...r.metrics.faults, total, emulated } } });
  const c = compareOf({
    scenario: 'fault-vs-invalidation-mini',
    vary: { faultPrecheck: ['off'] },
    seeds: [1, 2],
    rows: [{ label: 'a', settings, results: [faults(1174, 77), faults(1175, 88)] }],
  });
  assert.match(renderCompare(c), /\nfaults +1174\.5 \(1174-1175\)\n/);
  const html = renderCompareReport(c.rows.map((x) => ({ label: x.label, results: x.results })));
  assert.match(html, /data-metric="faults.total" data-value="1174.5">1,174\.5 \(1,174–1,175\)</);
  assert.match(html, /data-metric="faults.emulated" data-value="82.5">82\.5 \(77–88\)</);
  // Where the seeds agree, a whole number.
  assert.match(html, /data-metric="faults.spurious" data-value="\d+">\d+</);
});

test("compare table: an APIC reloads row beside the re-requests, as run's 'APIC reloads/re-requests' has both (a probe: thread 004 reads one against the other; compare had the re-requests only)", () => {
  const s = loadScenario('apic-reload-mini');
  const settings = effectiveSettings(s, {});
  const r = simulate(s, { settings, mutant: null, seed: 1 });
  assert.ok(r.metrics.apic.reloads > 0);
  const lines = renderCompare(
    compareOf({ scenario: 'apic-reload-mini', vary: { apicAccessPage: ['retry'] }, seeds: [1], rows: [{ label: 'a', settings, results: [r] }] }),
  ).split('\n');
  const i = lines.findIndex((l) => l.startsWith('APIC reloads  '));
  assert.ok(i > 0, lines.join('\n'));
  assert.match(lines[i]!, new RegExp(` ${r.metrics.apic.reloads}$`));
  assert.match(lines[i + 1]!, new RegExp(`^APIC re-requests +${r.metrics.apic.reRequests}$`));
});

// Regression (helper-103's probe): the text table had 'zap-all/memslot zaps completed 0' and
// no started row for a lock-break zap-all that never finished, where run says started/done
// 1 / 0 and the HTML page 'completed 0 of 1 ⚠ never finished': 0 read as "no zap was needed".
test('compare table: zaps started and completed, as the HTML page has them, a column whose zap never finished marked so (the lock-break livelock fixture, seed 1)', () => {
  const rows = livelockCompareRows([1]);
  const c = compareOf({
    scenario: 'zap-all-livelock',
    vary: { memslotFlush: ['zap-all-lockbreak', 'zap-all-fast'] },
    seeds: [1],
    rows: rows.map((r) => ({ label: r.label, settings: r.results[0]!.settings, results: r.results })),
  });
  const text = renderCompare(c);
  assert.match(text, /\nzap-all\/memslot zaps started {2,}1 {2,}1\n/);
  assert.match(text, /\nzap-all\/memslot zaps completed {2,}0 ⚠ never finished {2,}1\n/);
  // The page marks the same cells: one definition (metric-rows zapNeverFinished).
  const html = renderCompareReport(rows);
  assert.match(html, /data-card-metric="zapAll.completed">0 of 1 ⚠ never finished</);
  assert.match(html, /<td class="num bad" data-variant="memslotFlush=zap-all-lockbreak" data-metric="zapAll.completed" data-value="0">0<\/td>/);
});

// A probe: apic-page-reload under TDP read "mmu_lock wait p99 3.9µs" in the text table and
// "3.87 µs" on its --report page: two formatters of different precision.
test('compare table and page print each duration of a run alike (fmtNs), mmu_lock wait p99 the same figure in both', () => {
  const s = shortScenario('apic-page-reload', 1_000_000);
  const row = (label: string, mmu: 'tdp' | 'shadow') => {
    const settings = effectiveSettings(s, { mmu });
    return { label, settings, results: [simulate(s, { settings, mutant: null, seed: 1 })] };
  };
  const c = compareOf({ scenario: 'apic-page-reload', vary: { mmu: ['tdp', 'shadow'] }, seeds: [1], rows: [row('a', 'tdp'), row('b', 'shadow')] });
  const text = renderCompare(c).split('\n');
  const html = renderCompareReport(c.rows.map((x) => ({ label: x.label, results: x.results })));
  const rows: [string, string][] = [
    ['simulated time', 'simTimeNs'],
    ['fault p50', 'faults.latencyNs.p50'],
    ['fault p99', 'faults.latencyNs.p99'],
    ['fault max', 'faults.latencyNs.max'],
    ['mmu_lock wait p99', 'mmuLock.waitNs.p99'],
    ['mmu_lock wait max', 'mmuLock.waitNs.max'],
    ['invalidation time p50', 'invalidations.durationNs.p50'],
    ['invalidation time max', 'invalidations.durationNs.max'],
  ];
  let compared = 0;
  for (const [label, metric] of rows) {
    const cells = text
      .find((l) => l.startsWith(`${label}  `))!
      .slice(label.length)
      .trim()
      .split(/ {2,}/);
    for (const [i, variant] of ['a', 'b'].entries()) {
      const page = new RegExp(`data-variant="${variant}" data-metric="${metric.replace(/\./g, '\\.')}" data-value="[^"]*">([^<]*)<`).exec(html)?.[1];
      assert.equal(page, cells[i], `${label} of ${variant}`);
      if (/\d\.\d/.test(cells[i]!)) compared++;
    }
  }
  // Figures with digits after the point, where the two formatters parted.
  assert.ok(compared >= 4, `${compared} figures with a fraction`);
});

test('compare page, apicAccessPage=retry against invalidate-range: the bars have the APIC cost both flows measure, request to next VM-entry, and the cards no "zap-all completed 0 of 0" where no run zapped (a probe: the bars had only "time re-requesting", 1.91 ms against "-")', () => {
  const s = loadScenario('fault-vs-invalidation-mini');
  const settings = effectiveSettings(s, {});
  const r = simulate(s, { settings, mutant: null, seed: 1 });
  assert.equal(r.metrics.zapAll.started, 0);
  const apic = (reRequests: number, stalledNs: number, requestToEntryNs: number) => ({
    ...r,
    metrics: {
      ...r.metrics,
      apic: { reloads: 780, reRequests, stalledNs, stalls: reRequests > 0 ? 252 : 0, stallMaxNs: reRequests > 0 ? 27_460 : 0, requestToEntryNs },
    },
  });
  const rows = [
    { label: 'apicAccessPage=retry', results: [apic(3159, 1_820_000, 4_150_000)] },
    { label: 'apicAccessPage=invalidate-range', results: [apic(0, 0, 2_250_000)] },
  ];
  const html = renderCompareReport(rows);
  const bars = /id="bars-apic-requestToEntryNs"[\s\S]*?<\/svg>/.exec(html)?.[0];
  assert.ok(bars !== undefined, 'a bar chart of apic.requestToEntryNs');
  assert.match(bars, /4\.15ms/);
  assert.match(bars, /2\.25ms/);
  assert.doesNotMatch(html, /zap-all completed/);
});
