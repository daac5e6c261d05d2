import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultSettings } from '../../src/kvm/settings.js';
import { splitLockNotes } from '../../src/oracle/lock-notes.js';
import { fmtNs } from '../../src/report/duration.js';
import { renderCexReport } from '../../src/report/html-cex.js';
import { renderCompareReport } from '../../src/report/html-compare.js';
import { fmtMetric, renderRunReport } from '../../src/report/html-run.js';
import { METRIC_ROWS, runStatus } from '../../src/report/metric-rows.js';
import { ReportRecorder } from '../../src/report/recorder.js';
import { SeriesSink } from '../../src/report/series.js';
import { writeCexReport, writeRunReport } from '../../src/report/write.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { counterexampleOf, notedReplay, printedSteps, realCounterexample, runWith, shortScenario } from './fixtures.js';
import { livelockCompareRows } from './livelock.js';

/** Anything that would make the page fetch at view time. */
export function externalRefs(html: string): string[] {
  const out: string[] = [];
  for (const re of [
    /\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/gi,
    /url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/gi,
    /@import/gi,
  ]) {
    for (const m of html.matchAll(re)) if (!/^(?:src|href)\s*=\s*["']?\s*(?:data|#)/i.test(m[0])) out.push(m[0]);
  }
  return out;
}

/** The data-metric cells of a page: key → {value, text}. */
function cells(html: string, variant?: string): Map<string, { value: number; text: string }> {
  const out = new Map<string, { value: number; text: string }>();
  const re = /<td class="num[^"]*"(?: data-variant="([^"]*)")? data-metric="([^"]+)" data-value="([^"]*)">([^<]*)<\/td>/g;
  for (const m of html.matchAll(re)) if (variant === undefined || m[1] === variant) out.set(m[2]!, { value: Number(m[3]), text: m[4]! });
  return out;
}

test('html run report apic-page-reload seed 1: the summary holds every figure of the run; charts and timeline are inlined; nothing external', () => {
  const s = shortScenario('apic-page-reload', 500_000);
  const series = new SeriesSink();
  const r = runWith(s, [series]);
  const html = renderRunReport(r, { series: series.finish(r.simTimeNs), description: s.description });
  const c = cells(html);
  for (const row of METRIC_ROWS) {
    const cell = c.get(row.key);
    assert.ok(cell, `no cell for ${row.key}`);
    // A duration the run did not measure (no zap-all ran): '-', not 0 ns (a probe: "0ns" read as "took no time").
    if (row.has?.(r) === false) {
      assert.deepEqual(cell, { value: 0, text: '-' }, row.key);
      continue;
    }
    assert.equal(cell.value, row.get(r), row.key);
    assert.equal(cell.text, fmtMetric(row, row.get(r)).replace(/&/g, '&amp;'), row.key);
  }
  assert.equal(c.get('zapAll.maxDurationNs')?.text, '-');
  // The figures thread 003's scenarios are read by, and the time the counts are of (a probe: the page had neither).
  for (const key of ['simTimeNs', 'roots.reloadsAfterZap', 'roots.zappedInUse']) assert.ok(c.has(key), key);
  assert.match(html, /data-status="ok"/);
  assert.ok(html.includes('var uPlot=function'), 'uPlot is inlined');
  for (const id of ['run-latency', 'run-lock', 'run-activity']) assert.match(html, new RegExp(`id="${id}"`));
  assert.match(html, /<svg id="timeline"/);
  assert.deepEqual(externalRefs(html), []);
});

test('html run report with a violation (apic-page-reload, mutant apic-reload-no-retry, seed 1): banner, table and the steps that led to it', () => {
  const s = shortScenario('apic-page-reload', 2_000_000);
  const series = new SeriesSink();
  const r = runWith(s, [series], { mutant: 'apic-reload-no-retry' });
  assert.equal(r.violations[0]?.kind, 'stale-apic-access');
  const html = renderRunReport(r, { series: series.finish(r.simTimeNs) });
  assert.match(html, /data-status="violation"/);
  assert.match(html, /VIOLATION: stale-apic-access/);
  assert.match(html, new RegExp(`<tr class="violating"><td class="num">${r.violations[0]!.step}</td>`));
});

test("html run report names how many times the mutant acted, where it names the mutant, as run's header and --json do (apic-page-reload, apic-reload-no-retry, seed 1; a probe: the page named the mutant only)", () => {
  const s = shortScenario('apic-page-reload', 2_000_000);
  const r = runWith(s, [], { mutant: 'apic-reload-no-retry' });
  assert.equal(r.mutantActed, 1, 'the mutant acted once in this short run');
  const note = (n: number, words: string) => `<span class="note" data-mutant-acted="${n}">(acted ${n} ${words})</span>`;
  const html = renderRunReport(r);
  assert.ok(html.includes(`mutant <span class="bad">apic-reload-no-retry</span> ${note(1, 'time')}</div>`), 'the line under the title');
  assert.ok(html.includes(`data-setting="mutant">apic-reload-no-retry ${note(1, 'time')}</td>`), 'the settings table');
  assert.ok(renderRunReport({ ...r, mutantActed: 35 }).includes(`data-setting="mutant">apic-reload-no-retry ${note(35, 'times')}</td>`));
  // Without a mutant, nothing of the kind.
  assert.doesNotMatch(renderRunReport(runWith(s, [])), /acted/);
});

test('html compare zap-all-lockbreak vs zap-all-fast, seeds 1-2: the livelocked variant gets a red banner, a red card and a red zap-all cell', () => {
  const rows = livelockCompareRows();
  const html = renderCompareReport(rows, { command: 'mmulab compare …' });
  const stuck = rows.find((r) => r.results.some((x) => x.progress.livelock))!;
  assert.equal(stuck.label, 'memslotFlush=zap-all-lockbreak');
  assert.ok(
    stuck.results.every((x) => x.progress.livelock && x.metrics.zapAll.completed === 0),
    'the lock-break zap never completes',
  );
  assert.ok(
    rows[1]!.results.every((x) => !x.progress.livelock && x.metrics.zapAll.completed === 1),
    'the fast zap completes',
  );
  assert.match(html, new RegExp(`<div class="banner bad" data-variant="${stuck.label.replace(/[()]/g, '\\$&')}" data-status="livelock">LIVELOCK in`));
  assert.match(html, new RegExp(`<div class="card bad" data-variant="${stuck.label.replace(/[()]/g, '\\$&')}" data-status="livelock">`));
  assert.match(html, /<td class="num bad" data-variant="[^"]*" data-metric="zapAll.completed" data-value="0">0<\/td>/);
  for (const row of rows) {
    const c = cells(html, row.label);
    assert.equal(c.get('faults.total')!.value, row.results.reduce((a, r) => a + r.metrics.faults.total, 0) / row.results.length);
  }
  for (const id of ['cmp-latency', 'cmp-lock-wait', 'cmp-lock-write', 'cmp-accesses']) assert.match(html, new RegExp(`id="${id}"`));
  assert.deepEqual(externalRefs(html), []);
});

test('html counterexample report (checker, apic-reload-mini, apic-reload-no-retry, seed 1): swimlanes per thread, violating step marked', () => {
  const cex = realCounterexample();
  const html = renderCexReport(cex, { replayCommand: 'mmulab replay cex.json' });
  const threads = [...new Set(cex.steps.map((s) => s.thread))];
  for (const t of threads) assert.match(html, new RegExp(`<th class="lane" data-thread="${t}"`));
  assert.match(html, new RegExp(`<tr class="violating" data-step="${cex.steps.length}">`));
  assert.match(html, new RegExp(`✖ ${cex.violation.kind}`));
  // Each line's text is there, read as text (its mmu_lock operations are in spans of their own).
  const text = html.replace(/<span class="lock">([^<]*)<\/span>/g, '$1');
  const escaped = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  for (const s of cex.steps) assert.ok(text.includes(escaped(s.text)), s.text);
  assert.deepEqual(externalRefs(html), []);
});

test('html counterexample report (checker, fault-vs-invalidation-mini, fault-skip-range-check): rows are numbered like the printed interleaving, and the violation is at its last step', () => {
  const cex = counterexampleOf('fault-vs-invalidation-mini', 'fault-skip-range-check');
  const html = renderCexReport(cex);
  const printed = printedSteps(cex).map(([n, thread, text]) => [String(n), thread, text]);
  assert.ok(
    cex.steps.some((s, i) => i > 0 && s.step === cex.steps[i - 1]!.step),
    'two printed lines share a runtime step (their numbers differ from runtime steps)',
  );
  const unHtml = (t: string) =>
    t
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
  const rows = [
    ...html.matchAll(
      /<tr class="[^"]*" data-step="(\d+)"><td class="stepcol num">(?:▶ )?(\d+)<\/td><td class="stepcol num sched">(\d+)<\/td>.*?data-thread="([^"]+)" style[^>]*><div>(.*?)<\/div>/g,
    ),
  ].map((m, i) => {
    assert.equal(m[1], m[2], 'data-step is the number shown');
    // Beside it, the scheduler step the event happened in, counted from 1 (the JSON's step counts from 0).
    assert.equal(Number(m[3]), cex.steps[i]!.step + 1, `event ${m[2]}'s scheduler step`);
    const thread = unHtml(m[4]!);
    const text = splitLockNotes(unHtml(m[5]!.replace(/<[^>]*>/g, ''))).event;
    return [m[2]!, thread, text.startsWith(`${thread}: `) ? text.slice(thread.length + 2) : text];
  });
  assert.deepEqual(rows, printed);
  const last = printed.length;
  assert.match(html, new RegExp(`<tr class="violating" data-step="${last}"><td class="stepcol num">▶ ${last}</td>`));
  // Each number says what it counts: the event, as printed, and the scheduler step, of the schedule's choices.
  const choices = cex.schedule.choices.length;
  assert.equal(cex.violation.step + 1, choices, 'the oracle found it on the last scheduler step');
  assert.match(
    html,
    new RegExp(
      `id="violation" data-kind="${cex.property}" data-step="${last}">✖ ${cex.property} at event ${last} \\(scheduler step ${choices} of ${choices}\\) \\(${cex.violation.thread}\\)`,
    ),
  );
  assert.match(html, new RegExp(` · ${last} events printed, in ${choices} scheduler steps \\(${cex.schedule.draws.length} draws?\\)`));
  assert.match(html, /<th class="stepcol"[^>]*>event<\/th><th class="stepcol"[^>]*>sched\. step<\/th>/);
  assert.doesNotMatch(html, /\d+ steps \(/, 'no bare "steps"');
});

test('html counterexample report (checker, apic-reload-mini, apic-reload-no-retry): the mmu_lock operations a line carries are set apart from its event, and the line reads the same', () => {
  const cex = counterexampleOf('apic-reload-mini', 'apic-reload-no-retry');
  const { lines, inst } = notedReplay(cex);
  const noted = { ...cex, steps: lines.map((l) => ({ step: l.step, thread: inst.rt.threads[l.thread]!.name, text: l.text })) };
  const html = renderCexReport(noted);
  const divs = [...html.matchAll(/<td class="lane act"[^>]*><div>(.*?)<\/div>/g)].map((m) => m[1]!);
  assert.equal(divs.length, lines.length);
  let locks = 0;
  divs.forEach((d, i) => {
    // As text (what a reader copies), the line is the step log's.
    assert.equal(
      d
        .replace(/<[^>]*>/g, '')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&'),
      lines[i]!.text,
    );
    for (const m of d.matchAll(/<span class="lock">([^<]*)<\/span>/g)) {
      assert.match(m[1]!, /^(read|write)_(un)?lock\(mmu_lock\)/);
      locks++;
    }
  });
  const ops = lines.reduce((n, l) => n + splitLockNotes(l.text).before.length + splitLockNotes(l.text).after.length, 0);
  assert.ok(ops > 0);
  assert.equal(locks, ops, 'every lock operation, and nothing else, set apart');
  // A line whose event names its thread first keeps the name first.
  const own = renderCexReport({
    ...cex,
    steps: [{ step: 3, thread: 'migrate', text: 'migrate: write_unlock(mmu_lock) (vCPU0 waiting); invalidate_range_end [0x0,0x1000) returns' }],
  });
  assert.match(own, /<div>migrate: <span class="lock">write_unlock\(mmu_lock\) \(vCPU0 waiting\)<\/span>; invalidate_range_end \[0x0,0x1000\) returns<\/div>/);
});

test('html counterexample report: the settings the run used, each marked set (on the command line, by the scenario) or default, and those its MMU does not read said so (a probe: only "mutant" under Settings)', () => {
  const cex = counterexampleOf('memslot-delete-mini', 'zap-fast-no-generation-bump');
  const given = { ...cex, settings: { preemptible: false } };
  const ran = effectiveSettings(loadScenario('memslot-delete-mini'), { preemptible: false });
  assert.equal(ran.mmu, 'shadow', 'the scenario sets mmu');
  const html = renderCexReport(given, { settings: ran });
  const row = (key: string) =>
    new RegExp(
      `<tr><th>${key}</th><td class="mono[^"]*" data-setting="${key}" data-from="([^"]+)">([^<]*)</td><td class="from">([^<]*(?:<b>[^<]*</b>)?[^<]*)</td></tr>`,
    ).exec(html);
  for (const key of Object.keys(defaultSettings())) assert.ok(row(key), `${key} is listed`);
  assert.deepEqual(row('mmu')!.slice(1, 3), ['scenario', 'shadow']);
  assert.deepEqual(row('preemptible')!.slice(1, 3), ['command line', 'false']);
  assert.deepEqual(row('faultPrecheck')!.slice(1, 3), ['default', 'lockless']);
  assert.match(html, /data-setting="mutant">zap-fast-no-generation-bump</);
  // Under TDP, memslotFlush is not read: said beside it.
  const tdp = renderCexReport(cex, { settings: effectiveSettings(loadScenario('fault-vs-invalidation-mini')) });
  assert.match(
    tdp,
    /data-setting="memslotFlush" data-from="default">zap-all-fast<\/td><td class="from">default · not read under mmu=tdp: the TDP MMU always zaps by generation/,
  );
  // Without them, the page says what the counterexample alone records.
  const bare = renderCexReport(cex);
  assert.match(bare, /None given on the command line: the scenario's own, or the defaults/);
  assert.doesNotMatch(bare, /data-from=/);
});

test('writers are atomic: the file appears whole and no temporary file is left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmulab-report-'));
  try {
    const s = shortScenario('apic-page-reload', 100_000);
    const r = runWith(s, []);
    writeRunReport(join(dir, 'r.html'), r);
    writeCexReport(join(dir, 'c.html'), realCounterexample());
    assert.deepEqual(readdirSync(dir).sort(), ['c.html', 'r.html']);
    assert.match(readFileSync(join(dir, 'r.html'), 'utf8'), /<\/html>\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('recorder: a replayed counterexample gives its trace, log and page (check/replay --trace --ftrace --report)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmulab-report-'));
  try {
    const rec = new ReportRecorder({ trace: true, ftrace: true });
    const cex = realCounterexample(rec.perfetto && rec.ftrace ? [rec.perfetto, rec.ftrace] : []);
    rec.writeCounterexample({ trace: join(dir, 't.json'), ftrace: join(dir, 'f.txt'), report: join(dir, 'c.html') }, cex, {
      replayCommand: 'mmulab replay c.json',
    });
    const trace = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8')) as { otherData: { property: string }; traceEvents: { ph: string; name?: string }[] };
    assert.equal(trace.otherData.property, cex.property);
    assert.ok(trace.traceEvents.some((e) => e.name === `VIOLATION ${cex.property}`));
    assert.match(readFileSync(join(dir, 'f.txt'), 'utf8'), / kvm_entry: +vcpu \d, rip 0x0\n/);
    assert.match(readFileSync(join(dir, 'c.html'), 'utf8'), /<table class="swim" id="swimlanes">/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run status (memslot-delete-mini, zap-fast-no-generation-bump, seed 1): a simulated run\'s violation is placed in virtual time, its step said to be the runtime\'s (a probe: "vCPU0 at step 2201", a number a reader could take for a printed line)', () => {
  const r = runWith(shortScenario('memslot-delete-mini', 100_000_000), [], { mutant: 'zap-fast-no-generation-bump' });
  const v = r.violations[0];
  assert.ok(v, 'the mutant breaks the scenario in a simulated run');
  assert.match(runStatus(r).detail, new RegExp(`^${v.thread} at [0-9.]+(ns|µs|ms|s) of virtual time \\(runtime step ${v.step}\\): `));
});

// Regression (helper-103's probe): the Timelines heading said "the run stopped at 4.00 ms" of
// every variant whose series ended before the longest one's, though every run ran its 4 ms:
// it is said from the run's own facts (its violation, livelock, cut), as the status row has them.
test('html compare timelines: a run that ran its course is not said to have stopped, however long the others ran; a livelocked one is, with why', () => {
  const rows = livelockCompareRows([1]);
  const short = shortScenario('fault-during-invalidation', 300_000);
  const long = shortScenario('fault-during-invalidation', 400_000);
  const ok = [short, long].map((s, i) => {
    const sink = new SeriesSink();
    const r = runWith(s, [sink], { seed: 1 });
    return { label: `run ${i}`, results: [r], series: [sink.finish(r.simTimeNs)] };
  });
  const html = renderCompareReport([...ok, ...rows]);
  const notes = [...html.matchAll(/<h3>([^<]*)(?: <span class="note">— ([^<]*)<\/span>)?<\/h3>/g)].map((m) => [m[1], m[2] ?? '']);
  const stuck = rows[0]!.results[0]!;
  assert.deepEqual(notes, [
    ['run 0', ''],
    ['run 1', ''],
    ['memslotFlush=zap-all-lockbreak', `the run stopped at ${fmtNs(stuck.simTimeNs)} (LIVELOCK)`],
    ['memslotFlush=zap-all-fast', ''],
  ]);
});
