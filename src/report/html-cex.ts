import type { Settings } from '../kvm/settings.js';
import { LOCK_NOTE_SEP, splitLockNotes } from '../oracle/lock-notes.js';
import type { CounterexampleView } from './cex.js';
import { settingRows } from './cex-settings.js';
import { fmtNs } from './duration.js';
import { esc, PALETTE, page } from './html-page.js';
import { settingsTable } from './html-run.js';
import { plural } from './plural.js';

/** What the counterexample page can show besides the counterexample. */
export interface CexReportOptions {
  /** The command that replays it (e.g. "mmulab replay cex.json"). */
  replayCommand?: string;
  /**
   * The settings the replay ran with (the instance's kvm.settings): the
   * counterexample itself records only those given on the command line.
   */
  settings?: Settings;
}

/**
 * A replay that met no violation, as its page shows it (replay --without-mutant's --json holds the same fields, and no leftOut).
 */
export interface HeldView {
  scenario: string;
  /** Settings given (the counterexample's). */
  settings: Record<string, unknown>;
  /** The mutant left out (the counterexample's), or null when unknown. */
  leftOut: string | null;
  /** The property the counterexample recorded, or null (a --schedule line records none). */
  recordedProperty: string | null;
  /** How the replay ended, as replay prints it ("no violation in the schedule's 35 scheduler steps ..."). */
  outcome: string;
  schedule: { choices: number[]; draws: number[] };
  /** The interleaving it ran, as printed. */
  steps: { step: number; thread: string; text: string; timeNs?: number }[];
}

/** One row of the swimlanes: one line of the printed interleaving. */
interface Row {
  /** Its number in the printed interleaving (1-based): the event's number. */
  n: number;
  /** Runtime step it was logged at, 0-based: the index of its scheduler choice (several lines can share one). */
  step: number;
  thread: string;
  text: string;
  timeNs: number | undefined;
}

/** Column order: vCPUs by number, then the other threads as they first appear. */
function threadOrder(names: string[]): string[] {
  const seen = [...new Set(names)];
  const vcpu = (n: string) => /^vCPU(\d+)$/.exec(n);
  const vcpus = seen.filter((n) => vcpu(n)).sort((a, b) => Number(vcpu(a)![1]) - Number(vcpu(b)![1]));
  return [...vcpus, ...seen.filter((n) => !vcpu(n))];
}

/**
 * A counterexample as swimlanes: a column per thread, a row per event of the
 * printed interleaving, read top to bottom; the event on which the property
 * broke is marked, and the violation is stated above and at its row, so that
 * the race can be followed without the JSON. Each number says what it counts:
 * rows are numbered by event, as `mmulab check` and `mmulab replay` number the
 * lines they print, beside the scheduler step each happened in (the steps
 * check's `minimised:` line counts; the counterexample's `step` fields count
 * them from 0).
 */
export function renderCexReport(cex: CounterexampleView, opts: CexReportOptions = {}): string {
  const rows = rowsOf(cex);
  const v = cex.violation;
  // The violation shows after the last line of the runtime step that detected it,
  // or, when that step printed nothing, after the last line.
  let bad: Row | undefined;
  for (const r of rows) if (r.step === v.step) bad = r;
  const vn = bad?.n ?? rows.length;
  const choices = cex.schedule.choices.length;
  // The oracle's violations are found during a step (the one of the row marked); the checker's own (a livelock, a deadlock) after the last.
  const where =
    bad !== undefined
      ? `at event ${vn} (scheduler step ${v.step + 1} of ${choices})`
      : `after event ${vn} (after scheduler step ${Math.min(v.step, choices)} of ${choices})`;
  const lanes = lanesOf(rows, v.thread ? [v.thread] : []);
  const { threads, hasTime } = lanes;
  const body = rows.map((r) => laneRow(lanes, r, r === bad ? { why: v.thread, kind: v.kind } : null));
  if (bad === undefined) {
    body.push(
      `<tr class="violating" data-step="${vn}"><td class="stepcol num">▶</td><td class="stepcol num sched"></td>${hasTime ? '<td></td>' : ''}<td colspan="${threads.length}"><div class="why">✖ ${esc(v.kind)} detected ${esc(where)}${v.thread ? ` (${esc(v.thread)})` : ''}</div></td></tr>`,
    );
  }

  const html = `${STYLE}
<h1>Counterexample: ${esc(cex.property || v.kind)}</h1>
<div class="sub">${esc(cex.scenario)} · found by ${esc(cex.strategy)} · seed ${cex.seed} · ${rows.length} events printed, in ${plural(choices, 'scheduler step')} (${plural(cex.schedule.draws.length, 'draw')})${cex.mutant ? ` · mutant <span class="bad">${esc(cex.mutant)}</span>` : ''}</div>
<div class="banner bad" id="violation" data-kind="${esc(v.kind)}" data-step="${vn}">✖ ${esc(v.kind)} ${where}${v.thread ? ` (${esc(v.thread)})` : ''}<div class="detail">${esc(v.message)}</div></div>
${opts.replayCommand ? `<p>Replay it: <code>${esc(opts.replayCommand)}</code></p>` : ''}
${interleavingSection(lanes, body, 'The red row (▶) is the event on which the property no longer held.')}
<h2>Settings</h2>
${settingsSection(cex, opts.settings)}
${scheduleSection(cex.schedule)}`;
  return page(`mmulab counterexample: ${cex.property || v.kind}`, html);
}

/**
 * A replay that met no violation (`mmulab replay --without-mutant`): the
 * interleaving of a counterexample run on the kernel's protocol, its mutant
 * left out, read as the counterexample page reads (swimlanes, settings,
 * schedule); the banner says how it ended where the counterexample's page
 * states its violation, and a last row marks where the events stop.
 */
export function renderHeldReport(held: HeldView, opts: CexReportOptions = {}): string {
  const rows = rowsOf(held);
  const lanes = lanesOf(rows, []);
  const { threads, hasTime } = lanes;
  const body = rows.map((r) => laneRow(lanes, r, null));
  body.push(
    `<tr class="ended" data-step="${rows.length}"><td class="stepcol num">■</td><td class="stepcol num sched"></td>${hasTime ? '<td></td>' : ''}<td colspan="${Math.max(threads.length, 1)}"><div class="end">${esc(held.outcome)}</div></td></tr>`,
  );
  const choices = held.schedule.choices.length;
  const without = held.leftOut !== null ? `without the mutant ${held.leftOut}` : 'without the mutant';
  const html = `${STYLE}
<style>
tr.ended td { background: #eaf6ec; border-top: 2px solid #2e7d32; }
tr.ended td.stepcol { color: #2e7d32; font-weight: 700; }
.end { color: #2e7d32; font-weight: 600; }
</style>
<h1>The kernel's protocol, ${esc(without)}: no violation</h1>
<div class="sub">${esc(held.scenario)} · the schedule of a counterexample${held.recordedProperty !== null ? ` (${esc(held.recordedProperty)})` : ''} replayed on the kernel's protocol${held.leftOut !== null ? ` · mutant <span class="mono">${esc(held.leftOut)}</span> left out` : ''} · ${rows.length} events printed, in ${plural(choices, 'scheduler step')} (${plural(held.schedule.draws.length, 'draw')})</div>
<div class="banner ok" id="outcome" data-events="${rows.length}">✔ no violation on this interleaving<div class="detail">${esc(held.outcome)}</div></div>
${opts.replayCommand ? `<p>Replay it: <code>${esc(opts.replayCommand)}</code></p>` : ''}
${interleavingSection(lanes, body, 'The last row (■) says where the events stop: the schedule ran out, or the model without the mutant went another way than the schedule.')}
<h2>Settings</h2>
${settingsSection({ settings: held.settings, mutant: null }, opts.settings)}
${scheduleSection(held.schedule)}`;
  return page(`mmulab replay without the mutant: ${held.scenario}`, html);
}

/** The page's style, both pages. */
const STYLE = `<style>
table.swim { width: 100%; table-layout: fixed; }
table.swim thead th { position: sticky; top: 0; z-index: 1; }
table.swim td.lane { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
table.swim td.act { background: #fff; }
table.swim td.stepcol, table.swim th.stepcol { width: 70px; }
table.swim td.sched { color: var(--muted); }
table.swim .lock { color: #5a3d99; font-weight: 600; }
table.settings td.from { color: var(--muted); }
table.swim tr:not(.violating) td.lane:not(.act) { background: #f7f7f7; }
tr.violating td { background: #fdecea !important; border-top: 2px solid #c62828; border-bottom: 2px solid #c62828; }
tr.violating td.stepcol { color: #c62828; font-weight: 700; }
.why { color: #c62828; font-weight: 700; margin-top: 4px; }
</style>`;

/** The rows of a printed interleaving, numbered as `mmulab check` and `mmulab replay` print it: line i is event i + 1. */
function rowsOf(view: Pick<CounterexampleView, 'steps' | 'threads'>): Row[] {
  const nameOf = (t: string | number) => (typeof t === 'number' ? (view.threads?.[t] ?? `thread ${t}`) : t);
  return view.steps.map((s, i) => ({ n: i + 1, step: s.step, thread: nameOf(s.thread), text: s.text, timeNs: s.timeNs }));
}

/** The swimlanes' columns: a thread each (`more`: threads with no row, e.g. the violation's), its colour, and whether rows have a time. */
interface Lanes {
  threads: string[];
  color: Map<string, string>;
  hasTime: boolean;
  perThread: Map<string, number>;
}

function lanesOf(rows: Row[], more: string[]): Lanes {
  const threads = threadOrder([...rows.map((r) => r.thread), ...more]);
  const color = new Map(threads.map((t, i) => [t, PALETTE[i % PALETTE.length]!]));
  const hasTime = rows.some((r) => r.timeNs !== undefined);
  const perThread = new Map<string, number>();
  for (const r of rows) perThread.set(r.thread, (perThread.get(r.thread) ?? 0) + 1);
  return { threads, color, hasTime, perThread };
}

/** One event's row; `bad`: it is the violating one (the violation's thread and kind, said in that thread's cell). */
function laneRow(l: Lanes, r: Row, bad: { why: string; kind: string } | null): string {
  const cells = l.threads
    .map((t) =>
      t === r.thread
        ? `<td class="lane act" data-thread="${esc(t)}" style="border-left: 4px solid ${l.color.get(t)}"><div>${lineHtml(r.text)}</div>${bad !== null && t === bad.why ? `<div class="why">✖ ${esc(bad.kind)}</div>` : ''}</td>`
        : `<td class="lane" data-thread="${esc(t)}"></td>`,
    )
    .join('');
  return `<tr class="${bad !== null ? 'violating' : ''}" data-step="${r.n}"><td class="stepcol num">${bad !== null ? '▶ ' : ''}${r.n}</td><td class="stepcol num sched">${r.step + 1}</td>${l.hasTime ? `<td class="num">${r.timeNs !== undefined ? esc(fmtNs(r.timeNs)) : ''}</td>` : ''}${cells}</tr>`;
}

/** The interleaving's heading, how to read it (`marked`: what the marked row is), and the swimlanes of `body`. */
function interleavingSection(l: Lanes, body: string[], marked: string): string {
  const head = `<tr><th class="stepcol" title="the event's number, as mmulab check and mmulab replay print the interleaving">event</th><th class="stepcol" title="the scheduler step the event happened in, counted from 1 (the counterexample's step field + 1)">sched. step</th>${l.hasTime ? '<th>time</th>' : ''}${l.threads
    .map((t) => `<th class="lane" data-thread="${esc(t)}" style="border-top: 4px solid ${l.color.get(t)}">${esc(t)}</th>`)
    .join('')}</tr>`;
  return `<h2>The interleaving</h2>
<p class="note">Read top to bottom. Each row is one event of the interleaving, numbered as <code>mmulab check</code> and <code>mmulab replay</code> print it: what one thread did, written in kernel terms, in that thread's column, with where it took or released mmu_lock (<span class="lock mono">read_lock(mmu_lock)</span>). <i>sched. step</i> is the scheduler step it happened in, the steps the <code>minimised:</code> line of <code>mmulab check</code> counts: one step may print several events, or none. ${marked}</p>
<p class="note">Events per thread: ${l.threads.map((t) => `<span class="mono" style="border-bottom: 3px solid ${l.color.get(t)}">${esc(t)}</span> ${l.perThread.get(t) ?? 0}`).join(' · ')}</p>
<table class="swim" id="swimlanes"><thead>${head}</thead><tbody>${body.join('\n')}</tbody></table>`;
}

/** The schedule the page's replay follows. */
function scheduleSection(schedule: { choices: number[]; draws: number[] }): string {
  return `<h2>Schedule</h2>
<p class="note">Thread id chosen at each scheduler step (${schedule.choices.length} of them; a step may print several events, or none), then the model's random draws; <code>mmulab replay</code> follows exactly this.</p>
<pre class="mono" id="schedule">choices: ${esc(schedule.choices.join(' '))}
draws: ${esc(schedule.draws.join(' ') || '(none)')}</pre>
`;
}

/** A line's text, its mmu_lock operations set apart from its event (the text reads the same). */
function lineHtml(text: string): string {
  const { own, before, event, after } = splitLockNotes(text);
  const lock = (op: string) => `<span class="lock">${esc(op)}</span>`;
  return esc(own) + [...before.map(lock), esc(event.slice(own.length)), ...after.map(lock)].join(LOCK_NOTE_SEP);
}

/**
 * The settings of the run: every one, with where its value came from, when the
 * caller knows the settings in effect; else only those the command line gave,
 * which is all the counterexample records.
 */
function settingsSection(cex: Pick<CounterexampleView, 'settings' | 'mutant'>, effective: Settings | undefined): string {
  const mutant = `<tr><th>mutant</th><td class="mono${cex.mutant ? ' bad' : ''}" data-setting="mutant">${esc(cex.mutant ?? 'none (the kernel protocol)')}</td><td class="from"></td></tr>`;
  if (effective === undefined) {
    const given = Object.keys(cex.settings).length > 0;
    return `<p class="note">${given ? "Those given on the command line; the others are the scenario's or the defaults" : "None given on the command line: the scenario's own, or the defaults"} (<code>mmulab list</code> shows the defaults).</p>
${settingsTable(cex.settings, cex.mutant)}`;
  }
  const rows = settingRows(effective, cex.settings).map(
    (r) =>
      `<tr><th>${esc(r.key)}</th><td class="mono${r.from === 'default' ? '' : ' set'}" data-setting="${esc(r.key)}" data-from="${r.from}">${esc(String(r.value))}</td><td class="from">${r.from === 'command line' ? '<b>set: command line (--set)</b>' : r.from === 'scenario' ? '<b>set: the scenario</b>' : 'default'}${r.unread !== undefined ? ` · not read under mmu=${esc(effective.mmu)}: ${esc(r.unread)}` : ''}</td></tr>`,
  );
  return `<p class="note">The settings the run used; those not marked <b>set</b> are the defaults.</p>
<table class="settings">${rows.join('')}${mutant}</table>`;
}
