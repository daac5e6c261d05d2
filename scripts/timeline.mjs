// Sums up a timeline of a check run on workers (src/cli/timeline.ts): run a check with
// MMULAB_TIMELINE=<file>, then `node scripts/timeline.mjs <file>`. Times in ms from the
// first mark. Per worker thread: when it was spawned, ready, began its first unit and ended its
// last; busy (DPOR: the branches' time; states: the job's), idle inside the window the run's
// wallMs measures, CPU time and time waiting for a core (schedstat), units and executions.
import { readFileSync } from 'node:fs';

const marks = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => JSON.parse(l));
const t0 = Math.min(...marks.map((m) => m.at));
const at = (m) => m.at - t0;
const f = (x) => (x === undefined ? '-' : x.toFixed(0));
const main = marks.filter((m) => m.thread === 0);
const byThread = new Map();
for (const m of marks.filter((m) => m.thread !== 0)) byThread.set(m.thread, [...(byThread.get(m.thread) ?? []), m]);
for (const m of main) console.log(`main ${m.what.padEnd(13)} ${f(at(m))}${m.depth !== undefined ? ` depth ${m.depth}` : ''}`);

const rows = [];
for (const [thread, ms] of byThread) {
  const ready = ms.find((m) => m.what === 'ready');
  const starts = ms.filter((m) => m.what === 'unit-start' || m.what === 'job-start');
  const ends = ms.filter((m) => m.what === 'unit-end' || m.what === 'job-end');
  const claims = ms.filter((m) => m.what === 'claim');
  let busy = 0;
  let gaps = 0;
  let maxGap = 0;
  const units = [];
  for (let i = 0; i < ends.length; i++) {
    busy += ends[i].at - starts[i].at;
    units.push(ends[i].at - starts[i].at);
    if (i > 0) {
      const g = starts[i].at - ends[i - 1].at;
      gaps += g;
      maxGap = Math.max(maxGap, g);
    }
  }
  const first = starts[0];
  const last = ends.at(-1);
  // Units of the states search: from one claim to the next (the last to the job's end).
  const claimUnits = claims.map((c, i) => (claims[i + 1] ?? last).at - c.at);
  rows.push({
    thread,
    ready: ready && at(ready),
    first: first && at(first),
    last: last && at(last),
    busy,
    gaps,
    maxGap,
    cpu: last?.cpuMs !== undefined && ready ? last.cpuMs - ready.cpuMs : undefined,
    wait: last?.waitMs !== undefined && ready ? last.waitMs - ready.waitMs : undefined,
    units: ends.length > 1 ? ends.length : claims.length,
    executions: ends.reduce((a, m) => a + (m.executions ?? 0), 0),
    firstUnit: units[0],
    biggest: [...(ends.length > 1 ? units : claimUnits)].sort((a, b) => b - a).slice(0, 3),
    topWalk: claims.length > 0 && first ? claims[0].at - first.at : undefined,
  });
}
const start = Math.min(...rows.map((r) => r.first));
const end = Math.max(...rows.map((r) => r.last));
const window = end - start;
console.log(`window (first unit begun to last ended) ${f(window)} ms, from ${f(start)} to ${f(end)}`);
let busyAll = 0;
for (const r of rows) {
  busyAll += r.busy;
  console.log(
    `worker ${r.thread}: ready ${f(r.ready)} first ${f(r.first)} last ${f(r.last)} | busy ${f(r.busy)} (${((100 * r.busy) / window).toFixed(1)}% of window)` +
      ` idle: before ${f(r.first - start)} between ${f(r.gaps)} (max ${f(r.maxGap)}) after ${f(end - r.last)}` +
      ` | cpu ${f(r.cpu)} wait ${f(r.wait)} | units ${r.units} executions ${r.executions} first unit ${f(r.firstUnit)}` +
      ` biggest ${r.biggest.map(f).join(',')}${r.topWalk !== undefined ? ` top walk ${f(r.topWalk)}` : ''}`,
  );
}
console.log(`busy over workers x window: ${((100 * busyAll) / (rows.length * window)).toFixed(1)}%`);
