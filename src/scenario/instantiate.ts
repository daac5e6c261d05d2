import { type Costs, DEFAULT_COSTS } from '../kvm/costs.js';
import { hostInvalidate, type InvalidationKind } from '../kvm/host-mm-ops.js';
import { Kvm } from '../kvm/kvm.js';
import { kvmSetMemoryRegion } from '../kvm/memslot-update.js';
import { APIC_ACCESS_GFN, APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, type Memslot, Memslots } from '../kvm/memslots.js';
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
import { Runtime } from '../runtime/runtime.js';
import type { Task } from '../runtime/thread.js';
import { Metrics } from '../simulate/metrics.js';
import { GuestRam, HVA_GAP_PAGES } from './guest-ram.js';
import { inVmmOrder } from './memslot-rules.js';
import type { Scenario } from './schema.js';
import { shadowGuestSpecs, withPageTableMemslot } from './shadow-guest.js';
import { vcpuWorkload } from './vcpu-workload.js';
import { warmStart } from './warm-start.js';

/** How to build one execution of a scenario. */
export interface InstanceOptions {
  /** Settings in effect (defaults, then the scenario's, then overrides). */
  settings: Settings;
  /** Named protocol deviation, or null. */
  mutant: string | null;
  /** Keep the step log (counterexamples, replays). */
  log: boolean;
  /** Collect metrics (the simulator); the checker leaves them off for speed. */
  metrics: boolean;
  /** Extra sinks (trace exporters). */
  sinks?: import('../kvm/events.js').Sink[];
}

/** An instance with the model parts drivers and reports look into. */
export interface KvmInstance extends Instance {
  readonly kvm: Kvm;
  readonly metrics: Metrics | null;
  readonly costs: Costs;
  readonly progress: ProgressMonitor;
}

/** The settings a scenario runs with: defaults, the scenario's own, then overrides. */
export function effectiveSettings(scenario: Scenario, overrides: Partial<Settings> = {}): Settings {
  return { ...defaultSettings(), ...(scenario.settings as Partial<Settings>), ...overrides };
}

/** Where the APIC-access page's host page lies: after every user slot. */
function apicHvaPage(slots: readonly Memslot[]): number {
  let top = 0x7f0000000;
  for (const s of slots) top = Math.max(top, s.hvaPage + s.npages);
  return top + 512;
}

/** Lays out memslots: each defaults to the host range right after the previous one. */
function layoutMemslots(scenario: Scenario): Memslot[] {
  let next = 0x7f0000000 / 2; // hva >> 12 of a typical mmap area
  const out: Memslot[] = [];
  for (const m of scenario.vm.memslots) {
    const hvaPage = m.hvaPage ?? next;
    out.push({ id: m.id, baseGfn: m.baseGfn, npages: m.pages, hvaPage, flags: 0 });
    next = hvaPage + m.pages + HVA_GAP_PAGES;
  }
  return out;
}

export function createInstance(scenario: Scenario, opts: InstanceOptions): KvmInstance {
  const rt = new Runtime();
  const costs: Costs = { ...DEFAULT_COSTS, ...(scenario.costs as Partial<Costs>) };
  const laidOut = layoutMemslots(scenario);
  const userSlots = opts.settings.mmu === 'shadow' ? withPageTableMemslot(scenario, laidOut) : laidOut;
  const slots = [...userSlots];
  if (scenario.vm.apicAccessPage) {
    slots.push({ id: APIC_ACCESS_PAGE_PRIVATE_MEMSLOT, baseGfn: APIC_ACCESS_GFN, npages: 1, hvaPage: apicHvaPage(userSlots), flags: 0 });
  }
  const kvm = new Kvm(rt, opts.settings, costs, new Mutation(opts.mutant), new Memslots(slots, 0));
  const shadow = opts.settings.mmu === 'shadow' ? new ShadowMmu(kvm) : null;
  kvm.mmu = shadow ?? new TdpMmu(kvm);

  const violations: Violation[] = [];
  kvm.subscribe(new Oracle(kvm, violations));
  const progress = new ProgressMonitor();
  kvm.subscribe(progress);

  for (let i = 0; i < scenario.vm.vcpus; i++) {
    const w = vcpuWorkload(scenario, i);
    const vcpu = new Vcpu(kvm, i, new AccessPattern(rt, w, Math.floor((i * w.gfnCount) / scenario.vm.vcpus)));
    vcpu.interval = w.accessIntervalNs;
    vcpu.accessLimit = w.accesses;
    if (scenario.vm.apicAccessPage) vcpu.requests |= 1 << KVM_REQ_APIC_PAGE_RELOAD;
    kvm.vcpus.push(vcpu);
  }
  if (shadow) shadow.setupGuest(shadowGuestSpecs(scenario, userSlots));
  for (const vcpu of kvm.vcpus) vcpu.thread = rt.spawn(vcpu.name, () => vcpu.vcpuRun(), vcpu);
  for (const slot of userSlots) {
    for (let k = 0; k < Math.min(scenario.host.populatePages, slot.npages); k++) kvm.host.faultIn(slot.hvaPage + k);
  }
  warmStart(kvm, scenario, costs);

  // Metrics, the step log and trace sinks start with the run, after the warm start.
  const metrics = opts.metrics ? new Metrics() : null;
  if (metrics) {
    kvm.mmuLock.resetStats();
    kvm.subscribe(metrics);
    // Shadow pages only: under TDP the gauge counts TDP page-table pages.
    if (shadow) metrics.shadowPagesLive = metrics.shadowPagesPeak = kvm.mmu.gauges().shadowPages;
    for (const v of kvm.vcpus) if (v.root.root >= 0) metrics.rootLoadedBefore(v.id, shadow ? v.root.pgd : undefined);
  }
  const log = opts.log ? new StepLog() : null;
  if (log) kvm.subscribe(log);
  for (const s of opts.sinks ?? []) kvm.subscribe(s);

  const ram = new GuestRam(scenario, laidOut, apicHvaPage(userSlots) + 1024);
  scenario.host.invalidations.forEach((spec, k) => {
    for (let j = 0; j < spec.threads; j++) {
      const name = `${spec.kind}${scenario.host.invalidations.length > 1 || spec.threads > 1 ? `${k}.${j}` : ''}`;
      rt.spawn(name, () => invalidator(kvm, spec, ram));
    }
  });
  if (scenario.vm.apicAccessPage && scenario.host.apicPageMigrationNs > 0) {
    rt.spawn('apic-migrate', () => apicMigrator(kvm, scenario));
  }
  if (scenario.host.memslotChanges.length > 0) rt.spawn('vmm', () => vmm(kvm, scenario, ram));

  return {
    rt,
    kvm,
    costs,
    metrics,
    progress,
    violations,
    log: log ? (log.lines as LogLine[]) : null,
    pending: () => progress.describe(rt.localTime ? null : rt.now()) ?? pendingWork(kvm),
    finish: () => metrics?.closeAt(rt.clock),
    dispose: () => kvm.dispose(),
  };
}

/** A host thread doing invalidations of one kind at a rate, on the host range behind its gfns. */
function* invalidator(kvm: Kvm, spec: Scenario['host']['invalidations'][number], ram: GuestRam): Task {
  // The scenario's rules put all of the spec's gfns in one memslot's range, and its ranges within them.
  const where = ram.holding(spec.gfnStart, spec.gfnStart + spec.gfnCount);
  if (where === undefined) throw new ModelBug(`invalidations of gfns from ${spec.gfnStart} (${spec.gfnCount}) lie in no one memslot`);
  if (spec.startNs > 0) yield* kvm.sleep(spec.startNs);
  for (let n = 0; spec.count === 0 || n < spec.count; n++) {
    if (n > 0 && spec.intervalNs > 0) yield* kvm.sleep(spec.intervalNs);
    const span = spec.gfnCount - spec.rangePages + 1;
    const off = spec.overlapping ? kvm.rt.draw(span) : (kvm.rt.draw(Math.floor(spec.gfnCount / spec.rangePages)) * spec.rangePages) % span;
    const hvaStart = where.hvaPage + (spec.gfnStart + off - where.baseGfn);
    yield* hostInvalidate(kvm, hvaStart, hvaStart + spec.rangePages, spec.kind as InvalidationKind, spec.holdNs);
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

/** The VMM making memslot changes at their times (a create maps its memory where `ram` says). */
function* vmm(kvm: Kvm, scenario: Scenario, ram: GuestRam): Task {
  for (const { c, k } of inVmmOrder(scenario.host.memslotChanges)) {
    const wait = c.atNs - kvm.rt.now();
    if (wait > 0) yield* kvm.sleep(wait);
    if (c.op === 'delete') yield* kvmSetMemoryRegion(kvm, { op: 'delete', slot: c.slot });
    else if (c.op === 'move') yield* kvmSetMemoryRegion(kvm, { op: 'move', slot: c.slot, baseGfn: c.baseGfn ?? 0 });
    else yield* kvmSetMemoryRegion(kvm, { op: 'create', slot: c.slot, baseGfn: c.baseGfn ?? 0, pages: c.pages ?? 1, hvaPage: ram.hvaOfCreate(k) });
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
