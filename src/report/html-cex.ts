import type { CounterexampleView } from './cex.js';
import { esc, fmtNs, PALETTE, page } from './html-page.js';
import { settingsTable } from './html-run.js';

/** What the counterexample page can show besides the counterexample. */
export interface CexReportOptions {
  /** The command that replays it (e.g. "mmulab replay cex.json"). */
  replayCommand?: string;
}

/** One row of the swimlanes: one line of the printed interleaving. */
interface Row {
  /** Its number in the printed interleaving (1-based), the row's step number. */
  n: number;
  /** Runtime step it was logged at (several lines can share one). */
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
 * A counterexample as swimlanes: a column per thread, a row per step, read top
 * to bottom; the step at which the property broke is marked, and the
 * violation is stated above and at its row, so that the race can be followed
 * without the JSON.
 */
export function renderCexReport(cex: CounterexampleView, opts: CexReportOptions = {}): string {
  const nameOf = (t: string | number) => (typeof t === 'number' ? (cex.threads?.[t] ?? `thread ${t}`) : t);
  // Numbered as `mmulab check` and `mmulab replay` print the interleaving: line i is step i + 1.
  const rows: Row[] = cex.steps.map((s, i) => ({ n: i + 1, step: s.step, thread: nameOf(s.thread), text: s.text, timeNs: s.timeNs }));
  const v = cex.violation;
  // The violation shows after the last line of the runtime step that detected it,
  // or, when that step printed nothing, after the last line.
  let bad: Row | undefined;
  for (const r of rows) if (r.step === v.step) bad = r;
  const vn = bad?.n ?? rows.length;
  const threads = threadOrder([...rows.map((r) => r.thread), ...(v.thread ? [v.thread] : [])]);
  const color = new Map(threads.map((t, i) => [t, PALETTE[i % PALETTE.length]!]));
  const hasTime = rows.some((r) => r.timeNs !== undefined);
  const perThread = new Map<string, number>();
  for (const r of rows) perThread.set(r.thread, (perThread.get(r.thread) ?? 0) + 1);

  const head = `<tr><th class="stepcol">step</th>${hasTime ? '<th>time</th>' : ''}${threads
    .map((t) => `<th class="lane" data-thread="${esc(t)}" style="border-top: 4px solid ${color.get(t)}">${esc(t)}</th>`)
    .join('')}</tr>`;
  const body = rows.map((r) => {
    const isBad = r === bad;
    const cells = threads
      .map((t) =>
        t === r.thread
          ? `<td class="lane act" data-thread="${esc(t)}" style="border-left: 4px solid ${color.get(t)}"><div>${esc(r.text)}</div>${isBad && t === v.thread ? `<div class="why">✖ ${esc(v.kind)}</div>` : ''}</td>`
          : `<td class="lane" data-thread="${esc(t)}"></td>`,
      )
      .join('');
    return `<tr class="${isBad ? 'violating' : ''}" data-step="${r.n}"><td class="stepcol num">${isBad ? '▶ ' : ''}${r.n}</td>${hasTime ? `<td class="num">${r.timeNs !== undefined ? esc(fmtNs(r.timeNs)) : ''}</td>` : ''}${cells}</tr>`;
  });
  if (bad === undefined) {
    body.push(
      `<tr class="violating" data-step="${vn}"><td class="stepcol num">▶</td>${hasTime ? '<td></td>' : ''}<td colspan="${threads.length}"><div class="why">✖ ${esc(v.kind)} detected after step ${vn}${v.thread ? ` (${esc(v.thread)})` : ''}</div></td></tr>`,
    );
  }
  const where = bad !== undefined ? `at step ${vn}` : `after step ${vn}`;

  const style = `<style>
table.swim { width: 100%; table-layout: fixed; }
table.swim thead th { position: sticky; top: 0; z-index: 1; }
table.swim td.lane { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
table.swim td.act { background: #fff; }
table.swim td.stepcol, table.swim th.stepcol { width: 70px; }
table.swim tr:not(.violating) td.lane:not(.act) { background: #f7f7f7; }
tr.violating td { background: #fdecea !important; border-top: 2px solid #c62828; border-bottom: 2px solid #c62828; }
tr.violating td.stepcol { color: #c62828; font-weight: 700; }
.why { color: #c62828; font-weight: 700; margin-top: 4px; }
</style>`;

  const html = `${style}
<h1>Counterexample: ${esc(cex.property || v.kind)}</h1>
<div class="sub">${esc(cex.scenario)} · found by ${esc(cex.strategy)} · seed ${cex.seed} · ${rows.length} steps (${cex.schedule.choices.length} scheduler choices, ${cex.schedule.draws.length} draws)${cex.mutant ? ` · mutant <span class="bad">${esc(cex.mutant)}</span>` : ''}</div>
<div class="banner bad" id="violation" data-kind="${esc(v.kind)}" data-step="${vn}">✖ ${esc(v.kind)} ${where}${v.thread ? ` (${esc(v.thread)})` : ''}<div class="detail">${esc(v.message)}</div></div>
${opts.replayCommand ? `<p>Replay it: <code>${esc(opts.replayCommand)}</code></p>` : ''}
<h2>The interleaving</h2>
<p class="note">Read top to bottom. Each row is one step of the interleaving, numbered as <code>mmulab check</code> and <code>mmulab replay</code> print it: what one thread did, written in kernel terms, in that thread's column. The red row (▶) is the step after which the property no longer held.</p>
<p class="note">Steps per thread: ${threads.map((t) => `<span class="mono" style="border-bottom: 3px solid ${color.get(t)}">${esc(t)}</span> ${perThread.get(t) ?? 0}`).join(' · ')}</p>
<table class="swim" id="swimlanes"><thead>${head}</thead><tbody>${body.join('\n')}</tbody></table>
<h2>Settings</h2>
${Object.keys(cex.settings).length === 0 ? '<p class="note">The scenario\'s own settings; none overridden on the command line.</p>' : ''}
${settingsTable(cex.settings, cex.mutant)}
<h2>Schedule</h2>
<p class="note">Thread id chosen at each scheduling point (there are more of them than printed steps: not every one does something the interleaving shows), then the model's random draws; <code>mmulab replay</code> follows exactly this.</p>
<pre class="mono" id="schedule">choices: ${esc(cex.schedule.choices.join(' '))}
draws: ${esc(cex.schedule.draws.join(' ') || '(none)')}</pre>
`;
  return page(`mmulab counterexample: ${cex.property || v.kind}`, html);
}
