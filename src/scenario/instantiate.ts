import { type Costs, DEFAULT_COSTS } from '../kvm/costs.js';
import { DirtyLog } from '../kvm/dirty-log.js';
import { dirtyLogMigration } from '../kvm/dirty-log-migration.js';
import { dirtyRingReserve } from '../kvm/dirty-ring.js';
import { hostInvalidate, hostReclaimAged, type InvalidationKind } from '../kvm/host-mm-ops.js';
import { Kvm } from '../kvm/kvm.js';
import { kvmSetMemoryRegion } from '../kvm/memslot-update.js';
import { APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, Memslots } from '../kvm/memslots.js';
import { Mutation } from '../kvm/mutants.js';
import { KVM_REQ_APIC_PAGE_RELOAD } from '../kvm/requests.js';
import { defaultSettings, type Settings } from '../kvm/settings.js';
import { ShadowMmu } from '../kvm/shadow-mmu.js';
import { TdpMmu } from '../kvm/tdp-mmu.js';
import { Vcpu } from '../kvm/vcpu.js';
import { AccessPattern } from '../kvm/workload.js';
import { Oracle } from '../oracle/oracle.js';
import { ProgressMonitor } from '../oracle/progress.js';
import { StepLog } from '../oracle/step-log.js';
import type { Instance, LogLine, Violation } from '../runtime/instance.js';
import { ModelBug } from '../runtime/model-bug.js';
import { type Op, WRITE } from '../runtime/op.js';
import { Runtime } from '../runtime/runtime.js';
import type { Frame, Task } from '../runtime/thread.js';
import { Metrics } from '../simulate/metrics.js';
import type { GuestRam } from './guest-ram.js';
import { type ScenarioPlan, scenarioPlan } from './plan.js';
import { DEFAULT_DIRTY_RING_SIZE, reclaimAges, type Scenario } from './schema.js';
import { warmStart } from './warm-start.js';

/** How to build one execution of a scenario. */
export interface InstanceOptions {
  /** Settings in effect (defaults, then the scenario's, then overrides). */
  settings: Settings;
  /** Named protocol deviation, or null. */
  mutant: string | null;
  /** Keep the step log (counterexamples, replays). */
  log: boolean;
  /**
   * Track the awaited events (ProgressMonitor: `pending`, the simulator's
   * livelock watch); default true. The checker's exploring instances leave it
   * off: only a run it cuts asks what is pending, and it then rebuilds the
   * answer by replaying that run on an instance that tracks them.
   */
  progress?: boolean;
  /** Collect metrics (the simulator); the checker leaves them off for speed. */
  metrics: boolean;
  /** Extra sinks (trace exporters). */
  sinks?: import('../kvm/events.js').Sink[];
  /** Polled during the warm start, which may replay millions of faults: true cuts it short (the run then ends at once, partial). */
  interrupted?: () => boolean;
}

/** An instance with the model parts drivers and reports look into. */
export interface KvmInstance extends Instance {
  readonly kvm: Kvm;
  readonly metrics: Metrics | null;
  readonly costs: Costs;
  /** The awaited events, or null when built without them (InstanceOptions.progress). */
  readonly progress: ProgressMonitor | null;
}

/** The settings a scenario runs with: defaults, the scenario's own, then overrides. */
export function effectiveSettings(scenario: Scenario, overrides: Partial<Settings> = {}): Settings {
  return { ...defaultSettings(), ...(scenario.settings as Partial<Settings>), ...overrides };
}

export function createInstance(scenario: Scenario, opts: InstanceOptions): KvmInstance {
  const plan = scenarioPlan(scenario, opts.settings.mmu);
  const rt = new Runtime();
  const costs: Costs = { ...DEFAULT_COSTS, ...(scenario.costs as Partial<Costs>) };
  const kvm = new Kvm(rt, opts.settings, costs, new Mutation(opts.mutant), new Memslots(plan.slots, 0));
  // Before any thread runs: a vCPU's write announces the page it writes where a slot is logged.
  const logSpec = scenario.host.dirtyLog;
  if (logSpec !== undefined) {
    const size = logSpec.ringSize ?? DEFAULT_DIRTY_RING_SIZE;
    const ring = logSpec.mode === 'ring' ? { vcpus: scenario.vm.vcpus, size, reserve: dirtyRingReserve(size, logSpec.ringReserve) } : undefined;
    kvm.dirtyLog = new DirtyLog(kvm, logSpec.slot, logSpec.protect, ring);
  }
  const shadow = opts.settings.mmu === 'shadow' ? new ShadowMmu(kvm) : null;
  kvm.mmu = shadow ?? new TdpMmu(kvm);
  // Only where reclaim ages pages do leaves keep an A bit, and a guest's walk writes it
  // (without EPT A/D bits they may be marked for access tracking instead: the walk reads).
  if (reclaimAges(scenario)) {
    if (kvm.mmu.trackAccessed()) kvm.spteWalk = WRITE;
    kvm.folioLocking = true;
  }

  const violations: Violation[] = [];
  const oracle = new Oracle(kvm, violations);
  kvm.subscribe(oracle);
  const progress = opts.progress === false ? null : new ProgressMonitor();
  if (progress !== null) kvm.subscribe(progress);

  for (let i = 0; i < scenario.vm.vcpus; i++) {
    const w = plan.workloads[i]!;
    const vcpu = new Vcpu(kvm, i, new AccessPattern(rt, w, Math.floor((i * w.gfnCount) / scenario.vm.vcpus), plan.phases[i]!));
    vcpu.accessLimit = w.accesses;
    if (scenario.vm.apicAccessPage) vcpu.requests |= 1 << KVM_REQ_APIC_PAGE_RELOAD;
    kvm.vcpus.push(vcpu);
  }
  if (shadow) shadow.setupGuest(plan.guestSpecs!);
  for (const vcpu of kvm.vcpus) vcpu.thread = rt.spawn(vcpu.name, () => vcpu.vcpuRun(), vcpu);
  for (const slot of plan.userSlots) {
    for (let k = 0; k < Math.min(scenario.host.populatePages, slot.npages); k++) kvm.host.faultIn(slot.hvaPage + k);
  }
  warmStart(kvm, plan.workloads, costs, opts.interrupted);

  // Metrics, the step log and trace sinks start with the run, after the warm start.
  const metrics = opts.metrics ? new Metrics() : null;
  if (metrics) {
    kvm.mmuLock.resetStats();
    kvm.subscribe(metrics);
    // Shadow pages only: under TDP the gauge counts TDP page-table pages.
    if (shadow) metrics.shadowPagesLive = metrics.shadowPagesPeak = kvm.mmu.gauges().shadowPages;
    for (const v of kvm.vcpus) if (v.root.root >= 0) metrics.rootLoadedBefore(v.id, shadow ? v.root.pgd : undefined);
  }
  // After the oracle, which it needs to have read each event first.
  const log = opts.log ? new StepLog(violations, kvm) : null;
  if (log) kvm.subscribe(log);
  for (const s of opts.sinks ?? []) kvm.subscribe(s);

  scenario.host.invalidations.forEach((spec, k) => {
    for (let j = 0; j < spec.threads; j++) {
      const name = `${spec.kind}${scenario.host.invalidations.length > 1 || spec.threads > 1 ? `${k}.${j}` : ''}`;
      rt.spawn(name, () => invalidator(kvm, spec, plan.ram));
    }
  });
  if (scenario.vm.apicAccessPage && scenario.host.apicPageMigrationNs > 0) {
    rt.spawn('apic-migrate', () => apicMigrator(kvm, scenario));
  }
  if (scenario.host.memslotChanges.length > 0) {
    kvm.memslotsChange = true;
    rt.spawn('vmm', () => vmm(kvm, plan));
  }
  const dirtyLog = scenario.host.dirtyLog;
  if (dirtyLog !== undefined) rt.spawn('migration', () => dirtyLogMigration(kvm, dirtyLog));

  return {
    rt,
    kvm,
    costs,
    metrics,
    progress,
    violations,
    log: log ? (log.lines as LogLine[]) : null,
    // With a mutant, the checker reads how often it acted (Instance.mutation); one shape either way.
    mutation: opts.mutant !== null ? kvm.mutation : undefined,
    pending: () => progress?.describe(rt.localTime ? null : rt.now()) ?? pendingWork(kvm),
    finish: (judge = true) => {
      metrics?.closeAt(rt.endNs);
      if (judge) oracle.finish();
    },
    dispose: () => kvm.dispose(),
  };
}

/**
 * Over how many places an invalidation thread of `spec` draws where each of its
 * ranges falls: anywhere its range fits when ranges may overlap, else on a grid
 * of whole ranges. One place: nothing is drawn.
 */
export function invalidationPlaces(spec: Scenario['host']['invalidations'][number]): number {
  return spec.overlapping ? spec.gfnCount - spec.rangePages + 1 : Math.floor(spec.gfnCount / spec.rangePages);
}

/**
 * A host thread doing invalidations of one kind at a rate, on the host range
 * behind its gfns. Each invalidation is called as a Frame (yielded), not
 * delegated to with `yield*`: the same steps, without resuming this loop at
 * each of them.
 */
function* invalidator(kvm: Kvm, spec: Scenario['host']['invalidations'][number], ram: GuestRam): Generator<Op | Frame, void, void> {
  // The scenario's rules put all of the spec's gfns in one host range (one memslot's, or memslots'
  // that follow on), and its ranges within them: the gfns translate to host pages from `where` on.
  const where = ram.holding(spec.gfnStart, spec.gfnStart + spec.gfnCount);
  if (where === undefined) throw new ModelBug(`invalidations of gfns from ${spec.gfnStart} (${spec.gfnCount}) lie in no one host range`);
  if (spec.startNs > 0) yield* kvm.sleep(spec.startNs);
  for (let n = 0; spec.count === 0 || n < spec.count; n++) {
    if (n > 0 && spec.intervalNs > 0) yield* kvm.sleep(spec.intervalNs);
    const span = spec.gfnCount - spec.rangePages + 1;
    const place = kvm.rt.draw(invalidationPlaces(spec));
    const off = spec.overlapping ? place : (place * spec.rangePages) % span;
    const hvaStart = where.hvaPage + (spec.gfnStart + off - where.baseGfn);
    const hvaEnd = hvaStart + spec.rangePages;
    yield spec.age === true
      ? hostReclaimAged(kvm, hvaStart, hvaEnd, spec.holdNs)
      : hostInvalidate(kvm, hvaStart, hvaEnd, spec.kind as InvalidationKind, spec.holdNs);
  }
}

/** The host migrating the APIC-access page now and then (compaction, NUMA). */
function* apicMigrator(kvm: Kvm, scenario: Scenario): Task {
  const hva = kvm.memslots.byId(APIC_ACCESS_PAGE_PRIVATE_MEMSLOT)!.hvaPage;
  const count = scenario.host.apicPageMigrations;
  for (let n = 0; count === 0 || n < count; n++) {
    yield* kvm.sleep(scenario.host.apicPageMigrationNs);
    yield* hostInvalidate(kvm, hva, hva + 1, 'migrate', 0);
  }
}

/** The VMM making memslot changes at their times (a create maps its memory where the plan's RAM says). */
function* vmm(kvm: Kvm, plan: ScenarioPlan): Task {
  for (const { c, k } of plan.vmmChanges) {
    const wait = c.atNs - kvm.rt.now();
    if (wait > 0) yield* kvm.sleep(wait);
    if (c.op === 'delete') yield* kvmSetMemoryRegion(kvm, { op: 'delete', slot: c.slot });
    else if (c.op === 'move') yield* kvmSetMemoryRegion(kvm, { op: 'move', slot: c.slot, baseGfn: c.baseGfn ?? 0 });
    else yield* kvmSetMemoryRegion(kvm, { op: 'create', slot: c.slot, baseGfn: c.baseGfn ?? 0, pages: c.pages ?? 1, hvaPage: plan.ram.hvaOfCreate(k) });
  }
}

/** Awaited events still outstanding, for livelock reports. */
function pendingWork(kvm: Kvm): string | null {
  const out: string[] = [];
  for (const v of kvm.vcpus) {
    if (v.thread.state === 'done') continue;
    if (v.faultSince >= 0) out.push(`${v.name}: fault on gfn 0x${v.nextGfn.toString(16)} unresolved after ${v.faultRetries} retries`);
    if (v.requests !== 0) out.push(`${v.name}: requests 0x${v.requests.toString(16)} pending`);
  }
  for (const t of kvm.rt.threads) {
    if (t.owner === undefined && t.state !== 'done' && t.waitingFor !== '') out.push(`${t.name}: waiting for ${t.waitingFor}`);
  }
  return out.length > 0 ? out.join('; ') : null;
}
