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
  const nameOf = (t: string | number) => (typeof t === 'number' ? (cex.threads?.[t] ?? `thread ${t}`) : t);
  // Numbered as `mmulab check` and `mmulab replay` print the interleaving: line i is event i + 1.
  const rows: Row[] = cex.steps.map((s, i) => ({ n: i + 1, step: s.step, thread: nameOf(s.thread), text: s.text, timeNs: s.timeNs }));
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
  const threads = threadOrder([...rows.map((r) => r.thread), ...(v.thread ? [v.thread] : [])]);
  const color = new Map(threads.map((t, i) => [t, PALETTE[i % PALETTE.length]!]));
  const hasTime = rows.some((r) => r.timeNs !== undefined);
  const perThread = new Map<string, number>();
  for (const r of rows) perThread.set(r.thread, (perThread.get(r.thread) ?? 0) + 1);

  const head = `<tr><th class="stepcol" title="the event's number, as mmulab check and mmulab replay print the interleaving">event</th><th class="stepcol" title="the scheduler step the event happened in, counted from 1 (the counterexample's step field + 1)">sched. step</th>${hasTime ? '<th>time</th>' : ''}${threads
    .map((t) => `<th class="lane" data-thread="${esc(t)}" style="border-top: 4px solid ${color.get(t)}">${esc(t)}</th>`)
    .join('')}</tr>`;
  const body = rows.map((r) => {
    const isBad = r === bad;
    const cells = threads
      .map((t) =>
        t === r.thread
          ? `<td class="lane act" data-thread="${esc(t)}" style="border-left: 4px solid ${color.get(t)}"><div>${lineHtml(r.text)}</div>${isBad && t === v.thread ? `<div class="why">✖ ${esc(v.kind)}</div>` : ''}</td>`
          : `<td class="lane" data-thread="${esc(t)}"></td>`,
      )
      .join('');
    return `<tr class="${isBad ? 'violating' : ''}" data-step="${r.n}"><td class="stepcol num">${isBad ? '▶ ' : ''}${r.n}</td><td class="stepcol num sched">${r.step + 1}</td>${hasTime ? `<td class="num">${r.timeNs !== undefined ? esc(fmtNs(r.timeNs)) : ''}</td>` : ''}${cells}</tr>`;
  });
  if (bad === undefined) {
    body.push(
      `<tr class="violating" data-step="${vn}"><td class="stepcol num">▶</td><td class="stepcol num sched"></td>${hasTime ? '<td></td>' : ''}<td colspan="${threads.length}"><div class="why">✖ ${esc(v.kind)} detected ${esc(where)}${v.thread ? ` (${esc(v.thread)})` : ''}</div></td></tr>`,
    );
  }

  const style = `<style>
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

  const html = `${style}
<h1>Counterexample: ${esc(cex.property || v.kind)}</h1>
<div class="sub">${esc(cex.scenario)} · found by ${esc(cex.strategy)} · seed ${cex.seed} · ${rows.length} events printed, in ${plural(choices, 'scheduler step')} (${plural(cex.schedule.draws.length, 'draw')})${cex.mutant ? ` · mutant <span class="bad">${esc(cex.mutant)}</span>` : ''}</div>
<div class="banner bad" id="violation" data-kind="${esc(v.kind)}" data-step="${vn}">✖ ${esc(v.kind)} ${where}${v.thread ? ` (${esc(v.thread)})` : ''}<div class="detail">${esc(v.message)}</div></div>
${opts.replayCommand ? `<p>Replay it: <code>${esc(opts.replayCommand)}</code></p>` : ''}
<h2>The interleaving</h2>
<p class="note">Read top to bottom. Each row is one event of the interleaving, numbered as <code>mmulab check</code> and <code>mmulab replay</code> print it: what one thread did, written in kernel terms, in that thread's column, with where it took or released mmu_lock (<span class="lock mono">read_lock(mmu_lock)</span>). <i>sched. step</i> is the scheduler step it happened in, the steps the <code>minimised:</code> line of <code>mmulab check</code> counts: one step may print several events, or none. The red row (▶) is the event on which the property no longer held.</p>
<p class="note">Events per thread: ${threads.map((t) => `<span class="mono" style="border-bottom: 3px solid ${color.get(t)}">${esc(t)}</span> ${perThread.get(t) ?? 0}`).join(' · ')}</p>
<table class="swim" id="swimlanes"><thead>${head}</thead><tbody>${body.join('\n')}</tbody></table>
<h2>Settings</h2>
${settingsSection(cex, opts.settings)}
<h2>Schedule</h2>
<p class="note">Thread id chosen at each scheduler step (${choices} of them; a step may print several events, or none), then the model's random draws; <code>mmulab replay</code> follows exactly this.</p>
<pre class="mono" id="schedule">choices: ${esc(cex.schedule.choices.join(' '))}
draws: ${esc(cex.schedule.draws.join(' ') || '(none)')}</pre>
`;
  return page(`mmulab counterexample: ${cex.property || v.kind}`, html);
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
function settingsSection(cex: CounterexampleView, effective: Settings | undefined): string {
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
