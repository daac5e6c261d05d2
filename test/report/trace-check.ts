/**
 * Structure checks of a Chrome Trace Event JSON trace, shared by the trace
 * tests: every begin has its end, slices nest per track, time never goes back
 * per track, flows have both ends.
 */

export interface TraceEvent {
  ph: string;
  name?: string;
  cat?: string;
  ts?: number;
  dur?: number;
  pid?: number;
  tid?: number;
  id?: string | number;
  s?: string;
  bp?: string;
  args?: Record<string, unknown>;
}

/** Tolerance for µs arithmetic (ts + dur in binary floating point). */
const EPS = 1e-6;

/** Problems found, as readable lines; empty when the trace is well formed. */
export function traceProblems(events: TraceEvent[]): string[] {
  const out: string[] = [];
  const lastTs = new Map<string, number>();
  const stacks = new Map<number, { name: string; end: number }[]>();
  const be = new Map<number, string[]>();
  const asyncOpen = new Map<string, number>();
  const flows = new Map<string, { s: number; f: number }>();
  for (const [i, e] of events.entries()) {
    if (e.ph === 'M') continue;
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0) {
      out.push(`event ${i} (${e.ph} ${e.name}): bad ts ${e.ts}`);
      continue;
    }
    // Track identity: thread tracks by tid, counters by name, async by id.
    const track =
      e.ph === 'C'
        ? `counter:${e.name}`
        : e.ph === 'b' || e.ph === 'e'
          ? `async:${e.cat}:${e.id}`
          : e.ph === 's' || e.ph === 'f'
            ? `flow:${e.id}`
            : `thread:${e.tid}`;
    const prev = lastTs.get(track);
    if (prev !== undefined && e.ts < prev) out.push(`event ${i} (${e.ph} ${e.name}) on ${track}: ts ${e.ts} goes back from ${prev}`);
    lastTs.set(track, e.ts);
    switch (e.ph) {
      case 'X': {
        if (typeof e.dur !== 'number' || e.dur < 0) out.push(`event ${i} (X ${e.name}): bad dur ${e.dur}`);
        const end = e.ts + (e.dur ?? 0);
        const st = stacks.get(e.tid!) ?? [];
        stacks.set(e.tid!, st);
        while (st.length > 0 && st[st.length - 1]!.end <= e.ts + EPS) st.pop();
        const top = st[st.length - 1];
        if (top !== undefined && end > top.end + EPS) {
          out.push(`event ${i} (X ${e.name}) on tid ${e.tid}: [${e.ts}, ${end}] overlaps its parent ${top.name} ending ${top.end}`);
        }
        st.push({ name: e.name ?? '', end });
        break;
      }
      case 'B': {
        const st = be.get(e.tid!) ?? [];
        be.set(e.tid!, st);
        st.push(e.name ?? '');
        break;
      }
      case 'E': {
        const st = be.get(e.tid!);
        if (st === undefined || st.length === 0) out.push(`event ${i}: E without B on tid ${e.tid}`);
        else st.pop();
        break;
      }
      case 'b': {
        const key = `${e.cat}:${e.id}`;
        if (asyncOpen.has(key)) out.push(`event ${i}: async ${key} begins twice`);
        asyncOpen.set(key, e.ts);
        break;
      }
      case 'e': {
        const key = `${e.cat}:${e.id}`;
        if (!asyncOpen.has(key)) out.push(`event ${i}: async end ${key} without its begin`);
        asyncOpen.delete(key);
        break;
      }
      case 's':
      case 'f': {
        const key = `${e.cat}:${e.id}`;
        const f = flows.get(key) ?? { s: 0, f: 0 };
        flows.set(key, f);
        if (e.ph === 's') f.s++;
        else f.f++;
        break;
      }
      default:
        break;
    }
  }
  for (const [tid, st] of be) if (st.length > 0) out.push(`tid ${tid}: ${st.length} B without E (${st.join(', ')})`);
  for (const key of asyncOpen.keys()) out.push(`async ${key}: begin without end`);
  for (const [key, f] of flows) if (f.s !== 1 || f.f !== 1) out.push(`flow ${key}: ${f.s} start(s), ${f.f} finish(es)`);
  return out;
}

/**
 * Where each flow event binds. Perfetto's JSON importer binds an 's' (and an
 * 'f' with bp "e") to the slice open on its track when it reads the event, and
 * one ending at that very ts may already be closed then (by another event at
 * that ts) or not: so each flow start and finish must lie strictly inside a
 * slice of its track and at the end of none, and a flow's start come before
 * its finish (a finish read first finds no flow). Times in integer ns.
 */
export function flowBindingProblems(events: TraceEvent[]): string[] {
  const ns = (us: number) => Math.round(us * 1000);
  const slices = new Map<number, [number, number][]>();
  for (const e of events) {
    if (e.ph !== 'X') continue;
    const l = slices.get(e.tid!) ?? [];
    slices.set(e.tid!, l);
    l.push([ns(e.ts!), ns(e.ts!) + ns(e.dur!)]);
  }
  const out: string[] = [];
  const starts = new Map<string, number>();
  for (const e of events) {
    if (e.ph !== 's' && e.ph !== 'f') continue;
    const l = slices.get(e.tid!) ?? [];
    const t = ns(e.ts!);
    const where = `flow ${e.id} ${e.ph} at ${e.ts} on tid ${e.tid}`;
    if (!l.some(([a, b]) => a < t && t < b)) out.push(`${where}: strictly inside no slice`);
    const ending = l.filter(([, b]) => b === t).length;
    if (ending > 0) out.push(`${where}: at the end of ${ending} slice(s)`);
    const key = `${e.cat}:${e.id}`;
    if (e.ph === 's') starts.set(key, t);
    else if (!starts.has(key)) out.push(`${where}: its finish comes before its start`);
    else if (starts.get(key)! >= t) out.push(`${where}: finish not after its start at ${starts.get(key)! / 1000}`);
  }
  return out;
}
