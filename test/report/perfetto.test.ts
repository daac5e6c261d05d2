import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FtraceSink } from '../../src/report/ftrace.js';
import { PerfettoSink } from '../../src/report/perfetto.js';
import { loadScenario } from '../../src/scenario/load.js';
import { counterexampleOf, printedSteps, realCounterexample, runWith, shortScenario } from './fixtures.js';
import { flowBindingProblems, type TraceEvent, traceProblems } from './trace-check.js';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
/** Shadow paging; the lock-break zap never finishes: its slice stays open to the end. */
const ZAP_FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'zap-all-livelock.yaml');
const TDP_DELETE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tdp-memslot-delete.yaml');

function trace(name: string, timeNs: number, seed: number, settings = {}) {
  const s = shortScenario(name, timeNs);
  const sink = new PerfettoSink(s.name);
  const result = runWith(s, [sink], { seed, settings });
  const text = [...sink.render({ endNs: result.simTimeNs, otherData: { scenario: result.scenario, seed } })].join('');
  return { result, text, events: (JSON.parse(text) as { traceEvents: TraceEvent[] }).traceEvents };
}

for (const [name, timeNs, seed] of [
  ['apic-page-reload', 1_000_000, 1],
  ['fault-during-invalidation', 400_000, 3],
  [ZAP_FIXTURE, 1_500_000, 1],
  ['root-zap-mini', 100_000_000, 1],
] as const) {
  test(`perfetto ${name.replace(/^.*\//, '')} seed ${seed}: every begin has its end, slices nest per track, time never goes back per track`, () => {
    const { events } = trace(name, timeNs, seed);
    assert.deepEqual(traceProblems(events), []);
    assert.deepEqual(flowBindingProblems(events), []);
  });
}

// Regression (a probe): kvm_mmu_zap_all_fast traces its begin under mmu_lock, after the
// acquisition's cost, so its slice started inside the write hold and ended after it, and
// was shorter than its durationNs.
for (const [name, timeNs, settings] of [
  [TDP_DELETE, 200_000, {}],
  // Stopped before the fast zap ends: the slice is unfinished and has no duration to go by.
  [TDP_DELETE, 75_000, {}],
  [ZAP_FIXTURE, 1_500_000, { memslotFlush: 'zap-all-fast' }],
] as const) {
  const label = `${name.replace(/^.*\//, '')} ${JSON.stringify(settings)} to ${timeNs / 1000} µs seed 1`;
  test(`perfetto of a memslot delete with kvm_mmu_zap_all_fast (${label}): slices nest on every track; a finished zap's slice is as long as its durationNs`, () => {
    const { events } = trace(name, timeNs, 1, settings);
    assert.deepEqual(traceProblems(events), []);
    const zaps = events.filter((e) => e.ph === 'X' && e.name === 'kvm_mmu_zap_all_fast');
    assert.ok(zaps.length > 0, 'the run zaps');
    for (const z of zaps) {
      if (z.args?.unfinished === true) continue;
      assert.equal(Math.round(z.dur! * 1000), z.args?.durationNs, JSON.stringify(z));
    }
  });
}

test('perfetto apic-page-reload seed 1: tracks, slices, counters, windows and flows match the run', () => {
  const { result, events, text } = trace('apic-page-reload', 1_000_000, 1);
  // Times are the format's µs; no displayTimeUnit, which some trace processors took as the unit of ts (a probe).
  assert.equal('displayTimeUnit' in JSON.parse(text), false);
  const m = result.metrics;
  const threadNames = events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
  assert.deepEqual(threadNames, ['vCPU0', 'vCPU1', 'vCPU2', 'vCPU3', 'migrate', 'apic-migrate']);
  const slices = (cat: string) => events.filter((e) => e.ph === 'X' && e.cat === cat);
  // Every fault that ended is a slice named by its outcome.
  const faults = slices('fault');
  assert.equal(faults.length, m.faults.total);
  assert.equal(faults.filter((e) => e.name === 'fault RET_PF_RETRY (before mmu_lock)').length, m.faults.retriesBeforeLock);
  assert.equal(faults.filter((e) => e.name === 'fault RET_PF_RETRY (under mmu_lock)').length, m.faults.retriesUnderLock);
  assert.equal(slices('remote-flush').length, m.tlb.remoteFlushes);
  assert.equal(slices('guest').length, m.guest.entries);
  assert.equal(slices('lock-hold').filter((e) => e.args!.mode === 'write').length, m.mmuLock.writeAcquires);
  assert.equal(slices('lock-wait').length, m.mmuLock.contended);
  // One async window per invalidation.
  assert.equal(events.filter((e) => e.ph === 'b' && e.cat === 'mmu_notifier').length, m.invalidations.started);
  // Counters, with the seq ending where the invalidations leave it.
  const counter = (n: string) => events.filter((e) => e.ph === 'C' && e.name === n).map((e) => e.args!.value as number);
  assert.equal(counter('mmu_invalidate_seq').at(-1), m.invalidations.completed);
  assert.ok(Math.max(...counter('mmu_invalidate_in_progress')) >= 1);
  assert.equal(counter('roots').at(-1), 1);
  // TDP: its page tables, named so (helper-103's probe: 'shadow pages' climbed where the JSON's shadowPages is 0).
  assert.ok(counter('TDP page tables').length > 1);
  assert.deepEqual(counter('shadow pages'), []);
  assert.equal(m.shadowPages.peak, 0);
  // Every retried fault that an invalidation caused has its arrow.
  const flows = events.filter((e) => e.ph === 'f' && e.cat === 'retry');
  assert.ok(flows.length > 0 && flows.length <= m.faults.retriesBeforeLock + m.faults.retriesUnderLock);
  // And every APIC-access reload one made re-request, landing in the vCPU's mmu_lock hold around its check (a probe: none).
  const apic = events.filter((e) => e.ph === 'f' && e.cat === 'apic-retry');
  assert.ok(apic.length > 0 && apic.length <= m.apic.reRequests, `${apic.length} of ${m.apic.reRequests}`);
  // In the read_lock it takes for the check: its wait or its hold.
  const holds = events.filter((e) => e.ph === 'X' && (e.cat === 'lock-hold' || e.cat === 'lock-wait') && e.args!.mode === 'read');
  for (const f of apic)
    assert.ok(
      holds.some((h) => h.tid === f.tid && h.ts! < f.ts! && f.ts! < h.ts! + h.dur!),
      `the arrow at ${f.ts} lands in a read_lock`,
    );
});

// Regression (a probe): of 132 retry arrows, 69 started at the very ts a slice of their
// track ended (58 mmu_lock (write) holds, 11 invalidate_range_start), inside none, where
// Perfetto may bind them to the neighbouring slice or drop them.
test('perfetto apic-page-reload, 2 vCPUs, seed 1: every retry arrow starts and lands strictly inside a slice of its track, at no slice end; a seq arrow leaves invalidate_range_end, the others invalidate_range_start', () => {
  const { events } = trace('apic-page-reload', 1_000_000, 1, { vcpus: 2 });
  assert.deepEqual(traceProblems(events), []);
  assert.deepEqual(flowBindingProblems(events), []);
  const starts = events.filter((e) => e.ph === 's');
  assert.ok(
    starts.some((e) => e.name === 'retry: mmu_invalidate_seq changed'),
    'a fault retried for a seq bump',
  );
  assert.ok(
    starts.some((e) => e.name !== 'retry: mmu_invalidate_seq changed'),
    'a fault retried for an invalidation in progress',
  );
  const slices = events.filter((e) => e.ph === 'X');
  for (const s of starts) {
    const around = slices.filter((x) => x.tid === s.tid && x.ts! < s.ts! && s.ts! < x.ts! + x.dur!).map((x) => x.name!);
    // An APIC-access reload's arrow ('APIC-access reload retry: ...') leaves as a fault's does.
    const want = s.name!.endsWith('retry: mmu_invalidate_seq changed') ? 'invalidate_range_end (' : 'invalidate_range_start (';
    assert.ok(
      around.some((n) => n.startsWith(want)),
      `${s.name} at ${s.ts}: inside ${around.join(', ')}`,
    );
  }
  // The seq bump's slice says the seq it left.
  const ends = slices.filter((x) => x.name!.startsWith('invalidate_range_end ('));
  assert.ok(ends.length > 0 && ends.every((x) => typeof x.args!.seq === 'number'));
});

test('perfetto: an invalidation cut short before its seq bump has no seqAfter (no placeholder); a finished one has it', () => {
  let unfinished = 0;
  for (const timeNs of [20_000, 40_000, 60_000, 80_000]) {
    const { events } = trace('apic-page-reload', timeNs, 1, { vcpus: 2 });
    for (const b of events.filter((e) => e.ph === 'b')) {
      if (b.args!.unfinished === true) unfinished++;
      if ('seqAfter' in b.args!) assert.ok((b.args!.seqAfter as number) >= 0, JSON.stringify(b.args));
      else assert.equal(b.args!.unfinished, true, JSON.stringify(b.args));
      if (b.args!.unfinished !== true) assert.equal(typeof b.args!.seqAfter, 'number');
    }
  }
  assert.ok(unfinished > 0, 'a run stops inside an invalidation');
});

test('perfetto apic-page-reload seed 1: each APIC-access reload stall is an async slice of its vCPU, first re-request to the reload that set the page; their durations add up to apic.stalledNs and their re-requests to apic.reRequests (a probe: the stall of seed 004 had no slice, only instants)', () => {
  const { result, events } = trace('apic-page-reload', 1_000_000, 1);
  assert.deepEqual(traceProblems(events), []);
  const names = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid!, String(e.args!.name)]));
  const begins = events.filter((e) => e.ph === 'b' && e.cat === 'apic');
  const ends = new Map(events.filter((e) => e.ph === 'e' && e.cat === 'apic').map((e) => [e.id, e]));
  assert.ok(begins.length > 0, 'stalls');
  assert.ok(result.metrics.apic.reRequests > 0);
  let ns = 0;
  let passes = 0;
  for (const b of begins) {
    assert.equal(b.name, `APIC-access reload stall (${names.get(b.tid!)})`);
    const e = ends.get(b.id)!;
    ns += Math.round((e.ts! - b.ts!) * 1000);
    assert.equal(Math.round((e.ts! - b.ts!) * 1000), b.args!.durationNs);
    passes += Number(b.args!.reRequests);
  }
  assert.equal(passes, result.metrics.apic.reRequests);
  // The JSON counts those stalls and their longest (a probe: only sums over vCPUs, nothing to bound one vCPU's wait by).
  assert.equal(begins.length, result.metrics.apic.stalls);
  assert.equal(Math.max(...begins.map((b) => Number(b.args!.durationNs))), result.metrics.apic.stallMaxNs);
  assert.ok(Math.abs(ns - result.metrics.apic.stalledNs) <= begins.length, `${ns} ns against apic.stalledNs ${result.metrics.apic.stalledNs}`);
  // The re-requests are instants on the vCPU's track, inside its stalls.
  for (const i of events.filter((x) => x.ph === 'i' && x.name === 'APIC-access page reload' && /re-request/.test(String(x.args!.text)))) {
    assert.ok(
      begins.some((b) => b.tid === i.tid && b.ts! <= i.ts! && i.ts! <= ends.get(b.id)!.ts!),
      `the re-request at ${i.ts} on ${names.get(i.tid!)} lies in a stall`,
    );
  }
});

test('perfetto apic-page-reload seed 1: output is byte-stable (same run twice)', () => {
  assert.equal(trace('apic-page-reload', 300_000, 1).text, trace('apic-page-reload', 300_000, 1).text);
});

test('perfetto golden: apic-page-reload seed 1, 60 µs, is byte-identical to test/report/golden (UPDATE_GOLDEN=1 rewrites it)', () => {
  const { text } = trace('apic-page-reload', 60_000, 1);
  const file = join(GOLDEN_DIR, 'apic-page-reload-seed1-60us.trace.json');
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, text);
  }
  assert.equal(text, readFileSync(file, 'utf8'), 'trace changed: if intended, regenerate with UPDATE_GOLDEN=1 and review the diff');
});

test('perfetto on a checker replay: the counterexample trace is well formed and marks the violation', () => {
  const sink = new PerfettoSink('apic-reload-mini');
  const cex = realCounterexample([sink]);
  const events = (JSON.parse([...sink.render()].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
  assert.deepEqual(traceProblems(events), []);
  const v = events.find((e) => e.ph === 'i' && e.s === 'g');
  assert.ok(v, 'a global instant marks the violation');
  assert.equal(v.name, `VIOLATION ${cex.violation.kind}`);
});

for (const [scenario, mutant] of [
  ['apic-reload-mini', 'apic-reload-no-retry'],
  ['fault-vs-invalidation-mini', 'fault-skip-range-check'],
] as const) {
  test(`perfetto of a counterexample (checker, ${scenario}, ${mutant}): every printed event stands on its thread's track at its number, a slice's start or end or an instant (a probe: the request made and serviced, the seq snapshot, get_user_pages, the host PTE change and the free had none)`, () => {
    const sink = new PerfettoSink(scenario);
    const cex = counterexampleOf(scenario, mutant, [sink]);
    const events = (JSON.parse([...sink.render()].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
    const tids = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [String(e.args!.name), e.tid!]));
    const at = (tid: number, n: number) =>
      events.some(
        (e) =>
          e.tid === tid &&
          (((e.ph === 'i' || e.ph === 'b' || e.ph === 'e') && e.ts === n) ||
            (e.ph === 'X' && e.cat !== 'lock-hold' && e.cat !== 'lock-wait' && (e.ts === n || e.ts! + e.dur! === n))),
      );
    const missing = printedSteps(cex).filter(([n, thread]) => !at(tids.get(thread)!, n));
    assert.deepEqual(
      missing.map(([n, thread, text]) => `${n}. ${thread}: ${text}`),
      [],
      'printed events with nothing on their track at their number',
    );
    if (mutant === 'apic-reload-no-retry') {
      const gup = events.find((e) => e.ph === 'i' && e.name === 'get_user_pages');
      assert.ok(gup, "the APIC-access page's get_user_pages is an instant");
      assert.match(String(gup.args!.text), /gfn 0xfee00: hva 0x7f0000200000 → pfn 0x1000/);
    }
  });
}

test('perfetto with an event budget (apic-page-reload seed 1, 300 µs, 2000 events): the trace stops cleanly where the budget ran out', () => {
  const s = shortScenario('apic-page-reload', 300_000);
  const sink = new PerfettoSink(s.name, { maxEvents: 2000 });
  const result = runWith(s, [sink]);
  const trace = JSON.parse([...sink.render({ endNs: result.simTimeNs })].join('')) as {
    otherData: { truncated?: { atNs: number } };
    traceEvents: TraceEvent[];
  };
  const cut = trace.otherData.truncated?.atNs;
  assert.ok(cut !== undefined && cut < result.simTimeNs, 'the trace says where it stops');
  assert.deepEqual(traceProblems(trace.traceEvents), []);
  for (const e of trace.traceEvents) if (e.ph !== 'M') assert.ok(e.ts! + (e.dur ?? 0) <= cut / 1000 + 1e-9, `${e.ph} ${e.name} at ${e.ts} after the cut`);
  assert.ok(trace.traceEvents.some((e) => e.name === 'trace truncated here (event budget)'));
});

test('perfetto apic-page-reload seed 1: host addresses say their unit; hva is in bytes and equals the ftrace kvm_unmap_hva_range range, hvaPages the page numbers', () => {
  const s = shortScenario('apic-page-reload', 300_000);
  const sink = new PerfettoSink(s.name);
  const ft = new FtraceSink();
  runWith(s, [sink, ft]);
  const events = (JSON.parse([...sink.render()].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
  const range = (v: unknown) => {
    const m = /^\[0x([0-9a-f]+),0x([0-9a-f]+)\)$/.exec(String(v));
    assert.ok(m, `not a half-open hex range: ${v}`);
    return [Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16)];
  };
  const unmaps = [...ft.render()]
    .join('')
    .split('\n')
    .flatMap((l) => {
      const m = / kvm_unmap_hva_range: +mmu notifier unmap range: 0x([0-9a-f]+) -- 0x([0-9a-f]+)$/.exec(l);
      return m ? [[Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16)]] : [];
    });
  for (const which of ['notifier slices', 'invalidation windows']) {
    // invalidate_range_start's slices, one per unmap (invalidate_range_end's come after theirs).
    const withHva = events.filter((e) =>
      which === 'notifier slices'
        ? e.ph === 'X' && e.cat === 'notifier' && e.name!.startsWith('invalidate_range_start')
        : e.ph === 'b' && e.cat === 'mmu_notifier',
    );
    assert.ok(withHva.length > 0, which);
    assert.deepEqual(
      withHva.map((e) => range(e.args!.hva)),
      unmaps.slice(0, withHva.length),
      `${which}: hva as ftrace prints it`,
    );
    for (const e of withHva)
      assert.deepEqual(
        range(e.args!.hva),
        range(e.args!.hvaPages).map((p) => p * 4096),
        `${which}: hvaPages are pages of hva`,
      );
  }
});

test('perfetto of a counterexample (checker, fault-vs-invalidation-mini, fault-skip-range-check): times are the printed steps (step n at n µs), so the race reads as printed; mmu_lock holds sit between the steps they cover', () => {
  const sink = new PerfettoSink('fault-vs-invalidation-mini');
  const cex = counterexampleOf('fault-vs-invalidation-mini', 'fault-skip-range-check', [sink]);
  const printed = printedSteps(cex);
  const trace = JSON.parse([...sink.render()].join('')) as { otherData: { time?: string }; traceEvents: TraceEvent[] };
  const events = trace.traceEvents;
  assert.match(trace.otherData.time ?? '', /^interleaving events/);
  assert.deepEqual(traceProblems(events), []);
  const names = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid!, String(e.args!.name)]));
  /** The printed steps of `thread` whose text matches `re`. */
  const stepsOf = (thread: string, re: RegExp) => printed.filter(([, t, text]) => t === thread && re.test(text)).map(([n]) => n);
  const slices = (cat: string) => events.filter((e) => e.ph === 'X' && e.cat === cat);

  const faults = slices('fault');
  assert.ok(faults.length > 0);
  for (const f of faults) {
    const vcpu = names.get(f.tid!)!;
    assert.ok(stepsOf(vcpu, /^page fault on gfn/).includes(f.ts!), `${vcpu}'s fault starts at its EPT violation step: ${f.ts}`);
    if (f.args!.unfinished) assert.equal(f.ts! + f.dur!, printed.length, 'a fault the violation cut short ends with the trace');
    else assert.ok(stepsOf(vcpu, /^page fault gfn .*RET_PF_/).includes(f.ts! + f.dur!), `${vcpu}'s fault ends at its RET_PF step: ${f.ts! + f.dur!}`);
  }
  for (const g of slices('guest')) assert.ok(stepsOf(names.get(g.tid!)!, /^VM-entry/).includes(g.ts!), `guest mode starts at a VM-entry step: ${g.ts}`);
  const begin = stepsOf('migrate', /^kvm_mmu_invalidate_begin/)[0]!;
  const rise = events.find((e) => e.ph === 'C' && e.name === 'mmu_invalidate_in_progress' && e.args!.value === 1)!;
  assert.equal(rise.ts, begin, 'mmu_invalidate_in_progress goes to 1 at the kvm_mmu_invalidate_begin step');
  assert.ok(faults[0]!.ts! < rise.ts!, 'the fault began before the invalidation, as printed');
  const inv = events.find((e) => e.ph === 'b')!;
  assert.equal(inv.ts, stepsOf('migrate', /^invalidate_range_start \[/)[0]);
  const v = events.find((e) => e.name === `VIOLATION ${cex.property}`)!;
  assert.equal(v.ts, printed.length, 'the violation at the last printed step');
  assert.equal(v.args!.step, printed.length);

  // mmu_lock: taken and released between steps; a write hold overlaps no other hold.
  const holds = slices('lock-hold');
  assert.ok(holds.some((h) => h.args!.mode === 'write'));
  for (const h of holds) {
    assert.ok(!Number.isInteger(h.ts!) && !Number.isInteger(h.ts! + h.dur!), `a hold starts and ends between steps: ${h.ts}+${h.dur}`);
    if (h.args!.mode !== 'write') continue;
    for (const o of holds) {
      if (o === h) continue;
      assert.ok(
        o.ts! + o.dur! <= h.ts! || o.ts! >= h.ts! + h.dur!,
        `write hold [${h.ts}, ${h.ts! + h.dur!}] of ${names.get(h.tid!)} overlaps [${o.ts}, ${o.ts! + o.dur!}] of ${names.get(o.tid!)}`,
      );
    }
  }
  const migrateWrite = holds.find((h) => names.get(h.tid!) === 'migrate' && h.args!.mode === 'write')!;
  assert.ok(migrateWrite.ts! < begin && begin < migrateWrite.ts! + migrateWrite.dur!, 'kvm_mmu_invalidate_begin runs under mmu_lock (write)');
});

/** fault-vs-invalidation-mini with 3 vCPUs, 2 invalidations, 2 accesses each: its counterexample has mmu_lock waits. */
function contendedMini() {
  const s = loadScenario('fault-vs-invalidation-mini');
  s.vm.vcpus = 3;
  s.host.invalidations[0]!.count = 2;
  s.workload.accesses = 2;
  return s;
}

for (const [label, scenario, mutant] of [
  ['fault-vs-invalidation-mini (3 vCPUs, 2 invalidations)', contendedMini, 'fault-skip-range-check'],
  ['memslot-delete-mini', () => loadScenario('memslot-delete-mini'), 'zap-fast-no-generation-bump'],
  ['root-zap-mini', () => loadScenario('root-zap-mini'), 'zap-root-no-request'],
] as const) {
  test(`perfetto of a counterexample (checker, ${label}, ${mutant}): in steps, slices still nest, waits end where the waiter's hold starts, a write hold overlaps no hold`, () => {
    const sink = new PerfettoSink(label);
    const cex = counterexampleOf(scenario(), mutant, [sink]);
    const events = (JSON.parse([...sink.render()].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
    assert.deepEqual(traceProblems(events), []);
    assert.deepEqual(flowBindingProblems(events), []);
    const v = events.find((e) => e.name === `VIOLATION ${cex.property}`)!;
    assert.equal(v.ts, cex.steps.length);
    const holds = events.filter((e) => e.ph === 'X' && e.cat === 'lock-hold');
    const waits = events.filter((e) => e.ph === 'X' && e.cat === 'lock-wait');
    if (scenario === contendedMini) assert.ok(waits.length > 0, 'the vCPUs and the invalidation wait for mmu_lock');
    for (const w of waits) {
      // A wait still going when the replay stopped is drawn to the end, unfinished.
      if (w.args!.unfinished === true) continue;
      assert.ok(
        holds.some((h) => h.tid === w.tid && Math.abs(h.ts! - (w.ts! + w.dur!)) < 1e-9),
        `the wait [${w.ts}, ${w.ts! + w.dur!}] on tid ${w.tid} ends in a hold`,
      );
    }
    for (const h of holds.filter((x) => x.args!.mode === 'write')) {
      for (const o of holds) {
        if (o !== h) assert.ok(o.ts! + o.dur! <= h.ts! + 1e-9 || o.ts! >= h.ts! + h.dur! - 1e-9, `write hold at ${h.ts} overlaps the hold at ${o.ts}`);
      }
    }
    if (mutant === 'zap-fast-no-generation-bump') {
      const zap = events.find((e) => e.ph === 'X' && e.name === 'kvm_mmu_zap_all_fast')!;
      assert.ok(
        holds.some((h) => h.tid === zap.tid && h.ts === zap.ts && h.dur! < zap.dur!),
        'the zap, begun under mmu_lock and ended after it, covers the hold',
      );
    }
  });
}

test("perfetto apic-page-reload seed 4: an instant's name is its kind's, one name a kind, its values in the args (text, the event described; a probe: hundreds of distinct names such as 'mmu_invalidate_retry_gfn APIC-access gfn 0xfee00 (..., mmu_invalidate_seq=206, ...): retry')", () => {
  const { events } = trace('apic-page-reload', 2_000_000, 4);
  const instants = events.filter((e) => e.ph === 'i' && e.cat === 'model');
  const byKind = new Map<string, Set<string>>();
  for (const e of instants) {
    const kind = String(e.args!.event);
    byKind.set(kind, (byKind.get(kind) ?? new Set()).add(e.name!));
  }
  assert.ok((byKind.get('apicRetryCheck')?.size ?? 0) > 0, [...byKind.keys()].join(', '));
  for (const [kind, names] of byKind) assert.equal(names.size, 1, `${kind}: ${[...names].slice(0, 3).join(' | ')}`);
  const check = instants.find((e) => e.args!.event === 'apicRetryCheck')!;
  assert.equal(check.name, 'mmu_invalidate_retry_gfn (APIC-access page)');
  assert.match(String(check.args!.text), /^mmu_invalidate_retry_gfn APIC-access gfn 0xfee00 \(mmu_invalidate_in_progress=\d+.*\): (no )?retry$/);
  assert.equal(typeof check.args!.mmuInvalidateSeq, 'number');
});

// Regression (helper-103's probe): a run stopped by stop.timeNs ends there (its simTimeNs),
// but the steps begun before it stamp events as far as their costs take them, and the
// slices still open were drawn to the last of them: 4 faults of a 4.00 ms run ended at
// 4,002.77 µs, and compare --report read the longer series as the others' "stopped at".
for (const [name, timeNs] of [
  ['apic-page-reload', 1_000_000],
  ['fault-during-invalidation', 400_000],
  ['slot-zap-accounting', 1_000_000],
] as const) {
  test(`perfetto ${name} seed 1 to ${timeNs / 1000} µs: nothing ends after the run, though its last steps stamp events past it; what the end cut short is unfinished`, () => {
    const s = shortScenario(name, timeNs);
    const sink = new PerfettoSink(s.name);
    let lastTs = 0;
    const stamps = {
      attach() {},
      on(_ev: unknown, at: { ts: number }) {
        lastTs = Math.max(lastTs, at.ts);
      },
    };
    const result = runWith(s, [sink, stamps], { seed: 1 });
    assert.equal(result.simTimeNs, timeNs);
    assert.ok(lastTs > timeNs, `the last steps run past the stop (${lastTs})`);
    const events = (JSON.parse([...sink.render({ endNs: result.simTimeNs })].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
    const end = Math.max(...events.filter((e) => e.ts !== undefined).map((e) => Math.round((e.ts! + (e.dur ?? 0)) * 1000)));
    assert.equal(end, timeNs);
    for (const e of events) if (e.ph === 'X' && Math.round((e.ts! + e.dur!) * 1000) === timeNs) assert.equal(e.args?.unfinished, true, JSON.stringify(e));
    assert.deepEqual(traceProblems(events), []);
  });
}

test('perfetto under shadow paging (zap-all-livelock fixture seed 1 to 300 µs): the pages counter is "shadow pages", no "TDP page tables"', () => {
  const { result, events } = trace(ZAP_FIXTURE, 300_000, 1);
  assert.equal(result.settings.mmu, 'shadow');
  const counter = (n: string) => events.filter((e) => e.ph === 'C' && e.name === n).map((e) => e.args!.value as number);
  assert.ok(counter('shadow pages').length > 1);
  assert.deepEqual(counter('TDP page tables'), []);
});

test("perfetto fault-during-invalidation seed 3: each lockless pre-check that retried (thread 001: a mmu_lock acquisition spared) is an instant on its vCPU's track, as many as faults.retriesBeforeLock; those that went on are not (a probe: a run's trace had none, only a checker's replay did)", () => {
  const { result, events } = trace('fault-during-invalidation', 400_000, 3);
  const prechecks = events.filter((e) => e.ph === 'i' && e.args?.event === 'precheck');
  assert.ok(result.metrics.faults.retriesBeforeLock > 0);
  assert.equal(prechecks.length, result.metrics.faults.retriesBeforeLock);
  for (const p of prechecks) {
    assert.equal(p.name, 'mmu_invalidate_retry_gfn_unsafe (lockless check)');
    assert.equal(p.args?.retry, true);
  }
});
