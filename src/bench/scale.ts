/**
 * The scale benchmark, run in a fresh process (so peak RSS is this run's alone):
 * a 1 TiB guest (one memslot of 2^28 gfns), 256 vCPUs touching 4 Mi pages
 * sequentially, then the VMM deletes the memslot with zap-all-fast.
 * Prints one JSON object on stdout. Run with --expose-gc for exact heap figures.
 */
import { memoryUsage, resourceUsage } from 'node:process';
import type { EventStamp, KvmEvent, Sink } from '../kvm/events.js';
import { effectiveSettings } from '../scenario/instantiate.js';
import { type Scenario, scenarioSchema } from '../scenario/schema.js';
import { simulate } from '../simulate/simulate.js';

export interface ScaleParams {
  guestPages: number;
  vcpus: number;
  pagesTouched: number;
  /** Virtual time of the memslot deletion, ns (after every vCPU is done touching). */
  deleteAtNs: number;
  accessIntervalNs: number;
}

export const SCALE_TARGET: ScaleParams = {
  guestPages: 2 ** 28,
  vcpus: 256,
  pagesTouched: 4 * 1024 * 1024,
  deleteAtNs: 1e12,
  accessIntervalNs: 10,
};

/** The scenario: each vCPU touches its own contiguous share of the first pagesTouched gfns once. */
export function scaleScenario(p: ScaleParams): Scenario {
  return scenarioSchema.parse({
    name: 'scale-1tib',
    vm: { vcpus: p.vcpus, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: p.guestPages }] },
    workload: {
      pattern: 'sequential',
      gfnStart: 0,
      gfnCount: p.pagesTouched,
      writeRatio: 0,
      accessIntervalNs: p.accessIntervalNs,
      accesses: Math.ceil(p.pagesTouched / p.vcpus),
    },
    host: { invalidations: [], memslotChanges: [{ atNs: p.deleteAtNs, op: 'delete', slot: 0 }] },
    settings: { mmu: 'tdp', memslotFlush: 'zap-all-fast' },
    stop: { timeNs: p.deleteAtNs * 2, livelockNs: p.deleteAtNs * 4 },
    seed: 1,
  });
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapBytes = () => {
  gc?.();
  const m = memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
};

/** Watches the run: memory and mapped pages when the deletion begins, and when it ends. */
class Probe implements Sink {
  readonly kinds: readonly KvmEvent['e'][] = ['memslotChange', 'spteSet', 'zapAllBegin', 'zapAllEnd'];
  mapped = 0;
  atDelete: { mappedPages: number; heap: number; rss: number; wallMs: number; simNs: number } | null = null;
  deleteWallMs = 0;
  zapSimNs = 0;
  private t0 = 0;
  constructor(private readonly wallStart: number) {}
  on(ev: KvmEvent, at: EventStamp): void {
    if (ev.e === 'spteSet') {
      if (ev.newPfn >= 0 && ev.oldPfn < 0) this.mapped++;
      else if (ev.newPfn < 0 && ev.oldPfn >= 0) this.mapped--;
    } else if (ev.e === 'memslotChange' && ev.phase === 'begin' && this.atDelete === null) {
      this.atDelete = { mappedPages: this.mapped, ...heapBytes(), wallMs: performance.now() - this.wallStart, simNs: at.ts };
      this.t0 = performance.now();
    } else if (ev.e === 'memslotChange' && ev.phase === 'done') {
      this.deleteWallMs = performance.now() - this.t0;
    } else if (ev.e === 'zapAllEnd') {
      this.zapSimNs = Math.max(this.zapSimNs, ev.durationNs);
    }
  }
}

export function runScale(p: ScaleParams) {
  const scenario = scaleScenario(p);
  const base = heapBytes();
  const t0 = performance.now();
  const probe = new Probe(t0);
  const r = simulate(scenario, { settings: effectiveSettings(scenario), mutant: null, seed: 1, sinks: [probe] });
  const wallMs = performance.now() - t0;
  const peakRssBytes = resourceUsage().maxRSS * 1024;
  const at = probe.atDelete;
  const mappedPages = at?.mappedPages ?? 0;
  return {
    params: p,
    wallMs: Math.round(wallMs),
    steps: r.steps,
    stepsPerSec: Math.round(r.steps / (wallMs / 1000)),
    simTimeNs: r.simTimeNs,
    guestAccesses: r.metrics.guest.accesses,
    faults: r.metrics.faults.total,
    mappedPagesAtDelete: mappedPages,
    mappedPagesAfter: probe.mapped,
    touchWallMs: at ? Math.round(at.wallMs) : null,
    deleteWallMs: Math.round(probe.deleteWallMs),
    zapAllSimNs: probe.zapSimNs,
    memslotChanges: r.metrics.memslots.changes,
    peakRssBytes,
    baselineHeapBytes: base.heap,
    heapAtDeleteBytes: at?.heap ?? null,
    rssAtDeleteBytes: at?.rss ?? null,
    /** Model memory (JS heap + array buffers, after GC) above the empty process, per page mapped. */
    bytesPerMappedPage: at && mappedPages > 0 ? Math.round((at.heap - base.heap) / mappedPages) : null,
    exactHeap: gc !== undefined,
    violations: r.violations.length,
    livelock: r.progress.livelock,
    partial: r.partial,
    modelBug: r.modelBug,
  };
}

// Run as a script: parameters as JSON in argv[2] (defaults: the target).
if (import.meta.url === `file://${process.argv[1]}`) {
  const p = { ...SCALE_TARGET, ...(process.argv[2] ? (JSON.parse(process.argv[2]) as Partial<ScaleParams>) : {}) };
  process.stdout.write(`${JSON.stringify(runScale(p))}\n`);
}
