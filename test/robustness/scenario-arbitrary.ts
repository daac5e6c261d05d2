/**
 * fast-check arbitraries of scenario objects shaped after the real schema
 * (src/scenario/schema.ts): most documents are valid but odd (many vCPUs, tiny
 * or adjacent or far-apart memslots, aliased host ranges, ranges at a slot's
 * last page, zero counts, every setting's values), and a minority carry a
 * wrong field (`maybe`: a nasty value in its place) or break a rule the schema
 * checks across fields (overlapping slots, ranges past a slot's end).
 * Enumerations and bounds are asked of the schema and the settings table, not
 * copied.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { DEFAULT_COSTS } from '../../src/kvm/costs.js';
import { DIRTY_LOG_MODES, DIRTY_LOG_PROTECTS } from '../../src/kvm/dirty-log.js';
import { APIC_ACCESS_GFN } from '../../src/kvm/memslots.js';
import { SETTINGS } from '../../src/kvm/settings.js';
import { MAX_SEED } from '../../src/runtime/prng.js';
import { invalidationSchema, LIMITS, MAX_DIRTY_RING_SIZE, memslotChangeSchema, workloadSchema } from '../../src/scenario/schema.js';

const BIG = 'x'.repeat(2_000);
export function deep(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** Nasty values: boundaries, wrong types, huge and deep things. */
export const nasty = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1, 2 ** 53, -(2 ** 53), 2 ** 60, 1e308, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5, -0),
  fc.constantFrom<unknown>(null, true, false, '', '0', 'NaN', BIG, [], {}, [1, 2], { x: 1 }),
  fc.constantFrom<unknown>(deep(20), deep(60)),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
);

/** A field's value, now and then a nasty one in its place (one field in about 150). */
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> => fc.oneof({ weight: 150, arbitrary: a }, { weight: 1, arbitrary: nasty });

/** The values a zod enum field takes, through its default or optional wrapper. */
function enumValues(t: unknown): string[] {
  let u = t as z.ZodTypeAny;
  while (u instanceof z.ZodDefault || u instanceof z.ZodOptional) u = u.unwrap() as z.ZodTypeAny;
  if (!(u instanceof z.ZodEnum)) throw new Error('not an enum field');
  return u.options as string[];
}

const PATTERNS = enumValues(workloadSchema.shape.pattern);
const MUNMAP_FLUSHES = enumValues(workloadSchema.shape.munmapFlush);
const KINDS = enumValues(invalidationSchema.shape.kind);
const OPS = enumValues(memslotChangeSchema.shape.op) as ('delete' | 'move' | 'create')[];

/** Guest frame where shadow paging keeps the guest's page tables (the guest kernel's half). */
const PT_GFN = 2 ** 27;

/** Small times mostly, 0 and large now and then. */
const nsValue = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20_001, max: 1e9 }) },
);
const positiveNs = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 2_000_000 }) }, { weight: 1, arbitrary: fc.constantFrom(0.5, 1e13) });
const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const positiveFraction = fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true });

export interface Slot {
  id: number;
  baseGfn: number;
  pages: number;
  hvaPage?: number;
}

/** Pages of a memslot: tiny ones most often, a huge one now and then (the model must not allocate per page). */
const slotPages = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 4, arbitrary: fc.integer({ min: 9, max: 4096 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 20, 2 ** 26) },
);
/** The gap before a memslot: adjacent, a little, or far (the guest's page-table half, the top of the gfn space). */
const slotGap = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 600 }) },
  { weight: 1, arbitrary: fc.constant(PT_GFN) },
  { weight: 1, arbitrary: fc.constant(2 ** 31) },
);

/** 1-4 memslots laid out one after another with distinct ids; one in about 40 is placed over its neighbour. */
const memslots: fc.Arbitrary<Slot[]> = fc
  .tuple(
    fc.array(fc.record({ gap: slotGap, pages: slotPages, hva: fc.option(fc.integer({ min: 0, max: 2 ** 22 }), { freq: 4, nil: undefined }) }), {
      minLength: 1,
      maxLength: 4,
    }),
    fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(32763)), { minLength: 4, maxLength: 4 }),
    fc.nat(40),
  )
  .map(([specs, ids, overlap]) => {
    let at = 0;
    return specs.map((p, k) => {
      let baseGfn = overlap === 0 && k > 0 ? at - 1 : at + p.gap;
      // Over the APIC-access page's gfn, a VMM leaves a hole (KVM refuses the slot while the page is there).
      if (baseGfn <= APIC_ACCESS_GFN && APIC_ACCESS_GFN < baseGfn + p.pages) baseGfn = APIC_ACCESS_GFN + 1;
      at = baseGfn + p.pages;
      return { id: ids[k]!, baseGfn, pages: p.pages, ...(p.hva !== undefined ? { hvaPage: p.hva } : {}) };
    });
  });

/** A gfn range within one of `slots`: a whole slot, its last page, or a random part of it. */
function rangeIn(slots: readonly Slot[]): fc.Arbitrary<{ gfnStart: number; gfnCount: number }> {
  return fc.tuple(fc.nat(slots.length - 1), fc.nat(3), fc.nat(), fc.nat()).map(([k, how, a, b]) => {
    const m = slots[k]!;
    if (how === 0) return { gfnStart: m.baseGfn, gfnCount: m.pages };
    if (how === 1) return { gfnStart: m.baseGfn + m.pages - 1, gfnCount: 1 };
    const off = a % m.pages;
    return { gfnStart: m.baseGfn + off, gfnCount: 1 + (b % Math.min(m.pages - off, 4096)) };
  });
}

/** A workload (or, `partial`, a per-vCPU override naming a few keys) whose range lies in `slots`. */
function workloadIn(slots: readonly Slot[], partial: boolean): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      rangeIn(slots),
      fc.record(
        {
          pattern: maybe(fc.constantFrom(...PATTERNS)),
          hotFraction: maybe(positiveFraction),
          hotProbability: maybe(fraction),
          zipfS: maybe(fc.double({ min: 0.01, max: 10, noNaN: true })),
          writeRatio: maybe(fraction),
          accessIntervalNs: maybe(nsValue),
          accesses: maybe(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }))),
          processes: maybe(fc.integer({ min: 0, max: 4 })),
          processSwitchNs: maybe(nsValue),
          processExitNs: maybe(nsValue),
          sharedProcesses: maybe(fc.boolean()),
          munmapNs: maybe(nsValue),
          munmapFlush: maybe(fc.constantFrom(...MUNMAP_FLUSHES)),
          pageTableGfns: maybe(fc.integer({ min: 1, max: 4096 })),
          warmPages: fc.integer({ min: 0, max: 8 }),
        },
        { requiredKeys: [] },
      ),
      fc.boolean(),
    )
    .map(([range, w, withRange]) => {
      const out: Record<string, unknown> = { ...w };
      if (!partial || withRange) Object.assign(out, range);
      // warmPages within the range (the schema refuses more); an override without a range of its own warms one page (the shared range's least).
      // An override with a range of its own names its warmPages too (the workload's may exceed its range).
      if ('gfnCount' in out) out.warmPages = Math.min(typeof out.warmPages === 'number' ? out.warmPages : 0, range.gfnCount);
      else if (typeof out.warmPages === 'number') out.warmPages = Math.min(out.warmPages, 1);
      return out;
    });
}

/** A host invalidation entry within `slots`: age only with reclaim, rangePages within the range, count 0 now and then. */
function invalidationIn(slots: readonly Slot[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      rangeIn(slots),
      fc.nat(),
      fc.record(
        {
          kind: maybe(fc.constantFrom(...KINDS)),
          threads: maybe(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(LIMITS.threads))),
          intervalNs: maybe(nsValue),
          holdNs: maybe(nsValue),
          count: maybe(fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }) })),
          overlapping: maybe(fc.boolean()),
          startNs: maybe(nsValue),
          age: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
    )
    .map(([range, r, inv]) => {
      const out: Record<string, unknown> = { ...inv, ...range, rangePages: 1 + (r % range.gfnCount) };
      if (out.kind !== 'reclaim') delete out.age;
      return out;
    });
}

/** Memslot changes: a delete or move of a slot, a create of a new one, where nothing else is. */
function changesFor(slots: readonly Slot[]): fc.Arbitrary<Record<string, unknown>[]> {
  const end = Math.max(...slots.map((m) => m.baseGfn + m.pages));
  return fc
    .uniqueArray(fc.tuple(fc.nat(slots.length), fc.constantFrom(...OPS), maybe(nsValue), fc.integer({ min: 1, max: 64 })), {
      maxLength: 2,
      selector: ([k]) => k,
    })
    .map((picks) =>
      picks.map(([k, op, atNs], i) => {
        const at = end + 64 * (i + 1) + 1;
        if (op === 'create' || k === slots.length) return { atNs, op: 'create', slot: 100 + i, baseGfn: at, pages: 1 + (k % 16) };
        const m = slots[k]!;
        return op === 'delete' ? { atNs, op, slot: m.id } : { atNs, op: 'move', slot: m.id, baseGfn: at };
      }),
    );
}

/**
 * Dirty logging of a slot no change touches, of any size (until 2026-12-07 the model kept every page
 * of the logged slot in a Set, which failed past 2^24 pages: test/runtime/sparse-sets.test.ts): a bitmap
 * with a protect, or a ring of a power-of-two size.
 */
function dirtyLogFor(slots: readonly Slot[]): fc.Arbitrary<Record<string, unknown> | undefined> {
  if (slots.length === 0) return fc.constant(undefined);
  return fc
    .record({
      k: fc.nat(slots.length - 1),
      startNs: maybe(nsValue),
      harvests: maybe(fc.integer({ min: 0, max: 4 })),
      intervalNs: maybe(nsValue),
      mode: fc.option(fc.constantFrom(...DIRTY_LOG_MODES), { nil: undefined }),
      protect: fc.option(fc.constantFrom(...DIRTY_LOG_PROTECTS), { nil: undefined }),
      ringLog: fc.option(fc.integer({ min: 1, max: Math.log2(MAX_DIRTY_RING_SIZE) }), { nil: undefined }),
      reserve: fc.option(fc.nat(), { nil: undefined }),
    })
    .map(({ k, mode, protect, ringLog, reserve, ...rest }) => {
      const out: Record<string, unknown> = { slot: slots[k]!.id, ...rest };
      if (mode !== undefined) out.mode = mode;
      if (mode === 'ring') {
        const size = ringLog === undefined ? undefined : 2 ** ringLog;
        if (size !== undefined) out.ringSize = size;
        if (reserve !== undefined) out.ringReserve = reserve % ((size ?? 4) - 1);
      } else if (protect !== undefined) out.protect = protect;
      return out;
    });
}

/** Some settings, each with one of the values it takes (an integer setting: its bounds or a value between). */
const settings = fc
  .subarray(
    SETTINGS.map((s) => {
      const ints = s.range === undefined ? [] : [fc.constantFrom(s.range.min, s.range.max), fc.integer(s.range)];
      const words = s.values.length > 0 ? [fc.constantFrom(...s.values)] : [];
      return fc.tuple(fc.constant(s.key), maybe(fc.oneof(...words, ...ints)));
    }),
  )
  .chain((picks) => fc.tuple(...picks))
  .map((pairs) => Object.fromEntries(pairs));

/** Some costs: small, 0 now and then. */
const costs = fc
  .subarray(Object.keys(DEFAULT_COSTS), { maxLength: 4 })
  .chain((keys) => fc.tuple(...keys.map((k) => fc.tuple(fc.constant(k), maybe(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })))))))
  .map((pairs) => Object.fromEntries(pairs));

/** The scenario without the memslot changes of the slot its dirty logging logs (the schema refuses them). */
function leaveLoggedSlot(o: Record<string, unknown>): Record<string, unknown> {
  const host = o.host as { dirtyLog?: { slot: number }; memslotChanges?: { slot: number }[] } | undefined;
  const logged = host?.dirtyLog?.slot;
  if (host?.memslotChanges === undefined || logged === undefined) return o;
  return { ...o, host: { ...host, memslotChanges: host.memslotChanges.filter((c) => c.slot !== logged) } };
}

/**
 * vCPUs: a few mostly, many now and then. Not the limit (1024): a run of 1024 vCPUs takes about 1 s
 * to build, and 10 s with a dirty ring (reported); the mutations of the built-ins try the limit.
 */
const vcpus = fc.oneof(
  { weight: 16, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 4, arbitrary: fc.integer({ min: 5, max: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 256 }) },
);

/** A scenario object: valid most of the time, odd often, wrong in a field or a cross-field rule now and then. */
export const scenarioObject: fc.Arbitrary<Record<string, unknown>> = fc.tuple(memslots, vcpus).chain(([slots, n]) =>
  fc
    .record(
      {
        name: maybe(fc.string({ minLength: 1, maxLength: 10 })),
        description: maybe(fc.string({ maxLength: 20 })),
        vm: fc.record(
          { vcpus: maybe(fc.constant(n)), memslots: maybe(fc.constant(slots)), apicAccessPage: maybe(fc.boolean()) },
          { requiredKeys: ['vcpus', 'memslots'] },
        ),
        workload: workloadIn(slots, false),
        vcpuWorkloads: fc.array(workloadIn(slots, true), { maxLength: Math.min(n, 3) }),
        host: fc.record(
          {
            invalidations: fc.array(invalidationIn(slots), { maxLength: 3 }),
            apicPageMigrationNs: maybe(nsValue),
            apicPageMigrations: maybe(fc.integer({ min: 0, max: 3 })),
            memslotChanges: changesFor(slots),
            populatePages: maybe(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 1, arbitrary: fc.constant(65536) })),
            dirtyLog: dirtyLogFor(slots),
          },
          { requiredKeys: [] },
        ),
        settings,
        costs,
        stop: fc.record(
          {
            timeNs: maybe(fc.option(positiveNs, { freq: 6, nil: undefined })),
            accesses: maybe(fc.integer({ min: 0, max: 200 })),
            livelockNs: maybe(positiveNs),
          },
          { requiredKeys: [] },
        ),
        seed: maybe(fc.oneof(fc.nat(1000), fc.constant(MAX_SEED))),
      },
      // The default workload's gfns [0, 1024) are in no memslot of most layouts.
      { requiredKeys: ['vm', 'workload'] },
    )
    .map(leaveLoggedSlot),
);
