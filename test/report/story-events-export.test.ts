import assert from 'node:assert/strict';
import { test } from 'node:test';
import { route } from '../../src/kvm/event-routes.js';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { FtraceSink } from '../../src/report/ftrace.js';
import { PerfettoSink } from '../../src/report/perfetto.js';
import { Events, runWith, shortScenario } from './fixtures.js';
import type { TraceEvent } from './trace-check.js';

/**
 * The events the step log and counterexamples print that the exports left
 * out until 2026-12-07 (a probe: a counterexample's step 35, the notifier's
 * walk going on after its lock break, had no line in --ftrace and no instant
 * in --trace): the APIC-access reload's mmu_invalidate_retry_gfn,
 * kvm_mmu_track_write, a TDP zap walk resumed after a lock break and a
 * fault's memslot lookup. The kernel has no tracepoint for any of them, so
 * the log names them mmulab_*.
 */

type Kind = 'apicRetryCheck' | 'trackWrite' | 'memslotLookup';

/** The ftrace line name each event kind becomes. */
const LINE: Record<Kind | 'zapResumed', string> = {
  apicRetryCheck: 'mmulab_mmu_invalidate_retry_gfn',
  trackWrite: 'mmulab_mmu_track_write',
  memslotLookup: 'mmulab_memslot_lookup',
  zapResumed: 'mmulab_zap_resumed',
};

/** One simulated run with both exports and the events themselves. */
function exported(name: string, timeNs: number, settings = {}) {
  const events = new Events();
  const ftrace = new FtraceSink();
  const perfetto = new PerfettoSink(name);
  const result = runWith(shortScenario(name, timeNs), [events, ftrace, perfetto], { seed: 1, settings });
  const lines = [...ftrace.render()].join('').split('\n');
  const trace = (JSON.parse([...perfetto.render({ endNs: result.simTimeNs })].join('')) as { traceEvents: TraceEvent[] }).traceEvents;
  return { events, lines, trace };
}

/** The fields of the ftrace lines named `name`, in order. */
function fieldsOf(lines: readonly string[], name: string): string[] {
  return lines.flatMap((l) => {
    const m = new RegExp(` ${name}: +(.*)$`).exec(l);
    return m ? [m[1]!] : [];
  });
}

/** The instants of event kind `e`, in order. */
function instantsOf(trace: readonly TraceEvent[], e: string): TraceEvent[] {
  return trace.filter((t) => t.ph === 'i' && t.args?.event === e);
}

for (const [kind, name, timeNs, settings] of [
  ['apicRetryCheck', 'apic-reload-mini', 100_000_000, {}],
  ['trackWrite', 'table-reuse-mini', 100_000_000, {}],
  ['memslotLookup', 'memslot-delete-mini', 100_000_000, {}],
  ['memslotLookup', 'memslot-delete-mini', 100_000_000, { mmu: 'tdp' }],
] as const) {
  test(`exports: each ${kind} (${name} seed 1 ${JSON.stringify(settings)}) is one ${LINE[kind]} line in --ftrace and one instant with its fields in --trace, as in the step log`, () => {
    const { events, lines, trace } = exported(name, timeNs, settings);
    const seen = events.of(kind) as KvmEvent[];
    assert.ok(seen.length > 0, `no ${kind} in the run`);
    assert.equal(fieldsOf(lines, LINE[kind]).length, seen.length, `one ${LINE[kind]} line per event`);
    const instants = instantsOf(trace, kind);
    assert.equal(instants.length, seen.length, `one ${kind} instant per event`);
    for (const x of instants) {
      assert.equal(x.s, 't', 'on its thread track');
      assert.ok(Object.keys(x.args!).length > 2, `${kind}: its fields besides event and step: ${JSON.stringify(x.args)}`);
    }
  });
}

test('exports: the APIC-access reload check (apic-page-reload seed 1, 500 µs) says its inputs and verdict in both, as mmu_invalidate_retry_gfn saw them', () => {
  const { events, lines, trace } = exported('apic-page-reload', 500_000);
  const seen = events.of('apicRetryCheck');
  const fields = fieldsOf(lines, LINE.apicRetryCheck);
  const instants = instantsOf(trace, 'apicRetryCheck');
  for (const [i, ev] of seen.entries()) {
    const range = ev.inProgress > 0 ? ` range_start ${ev.rangeStart.toString(16)} range_end ${ev.rangeEnd.toString(16)}` : '';
    assert.equal(
      fields[i],
      `vcpu ${ev.vcpu} gfn ${ev.gfn.toString(16)} in_progress ${ev.inProgress}${range} seq ${ev.seq} snapshot ${ev.snapshot} retry ${ev.retry ? 1 : 0}`,
    );
    assert.equal(instants[i]!.args!.retry, ev.retry);
    assert.equal(instants[i]!.args!.snapshot, ev.snapshot);
    assert.equal(instants[i]!.args!.gfn, `0x${ev.gfn.toString(16)}`);
  }
  assert.ok(
    seen.some((ev) => ev.retry && ev.inProgress > 0),
    'a reload met a migration in progress',
  );
});

test('exports: kvm_mmu_track_write (table-reuse-mini seed 1) says the pages it updated with their write-flooding counts, the SPTEs it zapped and the pages it zapped for flooding', () => {
  const { events, lines, trace } = exported('table-reuse-mini', 100_000_000);
  const seen = events.of('trackWrite');
  const fields = fieldsOf(lines, LINE.trackWrite);
  const instants = instantsOf(trace, 'trackWrite');
  for (const [i, ev] of seen.entries()) {
    assert.ok(fields[i]!.startsWith(`gfn ${ev.gfn.toString(16)} index ${ev.index} entries ${ev.through - ev.index} `), fields[i]);
    if (ev.noShadowPages) continue;
    assert.match(fields[i]!, new RegExp(` sptes_zapped ${ev.dropped} flooded `));
    assert.equal(instants[i]!.args!.sptesZapped, ev.dropped);
    assert.equal(instants[i]!.args!.updated, ev.updated.map((sp) => `sp ${sp}`).join(', '));
  }
  // Write flooding: a page zapped whole is named, and its counts are printed on the way there.
  assert.ok(
    fields.some((f) => / flooded sp\d+/.test(f)),
    fields.join('\n'),
  );
  assert.ok(
    fields.some((f) => /\(flooding [12]\)/.test(f)),
    fields.join('\n'),
  );
});

// check concurrent-invalidations-mini --mutate tlb-flush-after-entry: the notifier walk resumed after its lock break is a
// mmulab_zap_resumed line after mmulab_lock_break and an instant at its event: test/cli/lock-section-content.test.ts,
// whose test of that check's story runs it with --ftrace and --trace.

test('exports: the ftrace and Perfetto sinks read every event kind (no `kinds` list), so the story events, built only for a sink that reads them, are built for them', () => {
  // Kvm.listens asks the routes whether some sink reads a kind; with either export its only sink, each story kind is read.
  const sinks: Sink[] = [new FtraceSink(), new PerfettoSink()];
  for (const sink of sinks) {
    assert.equal(sink.kinds, undefined, sink.constructor.name);
    for (const kind of Object.keys(LINE) as KvmEvent['e'][]) assert.deepEqual(route(new Map(), [sink], kind), [0], `${sink.constructor.name} reads ${kind}`);
  }
});

test('exports: a vCPU entering a workload phase (memslot-move-follow seed 1, 3 ms: the guest follows the moved slot at 2.2 ms) is an instant on its track in --trace and an mmulab_workload_phase line in --ftrace, once per vCPU; a workload without phases has none (a probe: nothing showed where the access pattern changed)', () => {
  const { events, lines, trace } = exported('memslot-move-follow', 3_000_000);
  const seen = events.of('workloadPhase');
  assert.deepEqual(seen.map((ev) => ev.vcpu).sort(), [0, 1, 2, 3]);
  const fields = fieldsOf(lines, 'mmulab_workload_phase');
  assert.deepEqual(
    [...fields].sort(),
    [0, 1, 2, 3].map((v) => `vcpu ${v} phase 0 start_ns 2200000 pattern uniform gfn_start 20000 gfn_count 4096`),
  );
  const names = new Map(trace.filter((t) => t.ph === 'M' && t.name === 'thread_name').map((t) => [t.tid, (t.args as { name: string }).name]));
  const instants = instantsOf(trace, 'workloadPhase');
  assert.equal(instants.length, 4);
  for (const x of instants) {
    assert.equal(x.s, 't', 'on its thread track');
    assert.equal(x.name, 'guest workload phase');
    assert.equal(names.get(x.tid), `vCPU${x.args!.vcpu}`, "on the vCPU's own track");
    assert.ok((x.ts ?? 0) >= 2200, `entered at its first access from 2.2 ms: ${x.ts} µs`);
    assert.equal(x.args!.gfns, '[0x20000,0x21000)');
  }
  // A vCPU's accesses after its mark are the phase's, and some were made.
  for (const v of [0, 1, 2, 3]) {
    const mark = events.seen.findIndex((ev) => ev.e === 'workloadPhase' && ev.vcpu === v);
    const after = events.seen.slice(mark).filter((ev) => ev.e === 'guestAccess' && ev.vcpu === v) as { gfn: number }[];
    assert.ok(after.length > 0, `vCPU${v} accessed after its mark`);
    assert.deepEqual(
      after.filter((a) => a.gfn < 0x20000 || a.gfn >= 0x21000),
      [],
    );
  }
  const none = exported('apic-page-reload', 200_000);
  assert.equal(none.events.of('workloadPhase').length, 0);
  assert.equal(fieldsOf(none.lines, 'mmulab_workload_phase').length, 0);
});
