import { z } from 'zod';
import { DEFAULT_COSTS } from '../kvm/costs.js';
import { DIRTY_LOG_MODES, DIRTY_LOG_PROTECTS } from '../kvm/dirty-log.js';
import { KVM_DIRTY_RING_MAX_ENTRIES } from '../kvm/dirty-ring.js';
import { SETTINGS } from '../kvm/settings.js';
import { MAX_SEED } from '../runtime/prng.js';
import { memslotIssues, privateMemslots } from './memslot-rules.js';
import { workloadIssues } from './workload-rules.js';

/** Upper bounds that keep a scenario within what one machine can model. */
export const LIMITS = {
  vcpus: 1024,
  /** 2^32 gfns = 16 TiB of guest memory. */
  pages: 2 ** 32,
  memslots: 64,
  stopTimeNs: 1e13,
  stopAccesses: 1e12,
  threads: 64,
} as const;

const count = (max: number) => z.number().int().min(0).max(max);
const positive = (max: number) => z.number().int().min(1).max(max);
const ns = z.number().min(0).max(1e13);
/** A duration that must pass: a stop after 0 ns ends the run before it starts, a livelock bound of 0 calls every wait one. */
const positiveNs = z.number().gt(0).max(1e13);

const pattern = z.enum(['uniform', 'sequential', 'hot-set', 'zipf']);

/** The keys of a vCPU's access pattern: the workload's first keys, and what a phase (workload.phases) may change. */
const accessShape = {
  /** Access pattern over [gfnStart, gfnStart + gfnCount). */
  pattern: pattern.default('uniform'),
  gfnStart: count(LIMITS.pages).default(0),
  gfnCount: positive(LIMITS.pages).default(1024),
  /** hot-set: fraction of the range that is hot, and probability an access goes there. */
  hotFraction: z.number().gt(0).max(1).default(0.1),
  hotProbability: z.number().min(0).max(1).default(0.9),
  /** zipf exponent. */
  zipfS: z.number().gt(0).max(10).default(1.1),
  writeRatio: z.number().min(0).max(1).default(0.3),
  /** Guest think time between two accesses, ns. */
  accessIntervalNs: ns.default(200),
};

/** The keys a phase may change: the access pattern's, none of the vCPU's (accesses, warmPages) nor shadow paging's. */
export const PHASE_KEYS = Object.keys(accessShape) as (keyof typeof accessShape)[];

/** What a phase starts from: a virtual time, or an access count (check: the search orders the threads' steps, not their clocks). */
const PHASE_STARTS = ['fromNs', 'fromAccess'] as const;

const phaseShape: Record<string, z.ZodTypeAny> = {
  /** The first access drawn at or after this virtual time uses the phase, ns. */
  fromNs: positiveNs.optional(),
  /** The vCPU's access numbered this (counting from 0: after this many are done) and those after use the phase. */
  fromAccess: positive(LIMITS.stopAccesses).optional(),
};
for (const [k, v] of Object.entries(accessShape)) phaseShape[k] = (v as z.ZodDefault<z.ZodTypeAny>).unwrap().optional();

/** One phase: a start (fromNs or fromAccess, exactly one) and the access keys it changes over the vCPU's base workload. */
export const phaseSchema = z.strictObject(phaseShape).superRefine((p, ctx) => {
  const given = PHASE_STARTS.filter((k) => p[k] !== undefined);
  if (given.length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'no start; expected fromNs (a virtual time) or fromAccess (an access count)' });
  if (given.length > 1) ctx.addIssue({ code: 'custom', path: ['fromAccess'], message: 'a phase starts once; expected fromNs or fromAccess, not both' });
}) as unknown as z.ZodType<Phase>;

/** A phase of a vCPU's workload (workload.phases). */
export type Phase = { fromNs?: number | undefined; fromAccess?: number | undefined } & Partial<{
  [K in keyof typeof accessShape]: z.infer<(typeof accessShape)[K]>;
}>;

/** Phases start at strictly increasing times (or access counts), all by the same measure. */
const phasesSchema = z
  .array(phaseSchema)
  .min(1)
  .max(1000)
  .superRefine((list, ctx) => {
    const key = list[0]?.fromAccess !== undefined ? 'fromAccess' : 'fromNs';
    list.forEach((p, k) => {
      const at = p[key];
      if (k === 0 || (p.fromNs === undefined && p.fromAccess === undefined)) return;
      if (at === undefined) {
        const other = key === 'fromNs' ? 'fromAccess' : 'fromNs';
        ctx.addIssue({ code: 'custom', path: [k, other], message: `phases[0] starts by ${key}; expected every phase of the list to start by ${key}` });
        return;
      }
      const before = list[k - 1]![key];
      if (before !== undefined && at <= before)
        ctx.addIssue({ code: 'custom', path: [k, key], message: `${at}, not after phases[${k - 1}]'s ${before}; expected ${key} strictly increasing` });
    });
  });

export const workloadSchema = z
  .strictObject({
    ...accessShape,
    /** Accesses after which the vCPU stops (0: no limit). */
    accesses: count(LIMITS.stopAccesses).default(0),
    /** Shadow paging: guest processes this vCPU runs in turn, and how often it switches. */
    processes: count(1 << 20).default(0),
    processSwitchNs: ns.default(0),
    /** Shadow paging: a process exits (its page tables are freed) every this many ns (0: never). */
    processExitNs: ns.default(0),
    /**
     * Shadow paging: the vCPUs run threads of the same processes (one run list
     * for the guest, as a multithreaded workload has), so they load the same PGDs
     * and share their shadow roots; a vCPU's exit timer ends its thread, and the
     * last thread's exit drops the process. Off (absent: a scenario without it
     * digests as before): each vCPU runs processes of its own.
     */
    sharedProcesses: z.boolean().optional(),
    /**
     * Shadow paging: every this many ns the running process unmaps the user page
     * the vCPU touched last (a munmap or MADV_DONTNEED: the guest clears its PTE
     * in the level-1 table) and flushes its TLB by reloading CR3; the next touch
     * of the page faults into the guest, which maps it again. Absent or 0: never
     * (a scenario without it digests as before).
     */
    munmapNs: ns.optional(),
    /**
     * Shadow paging: how the munmap (munmapNs) flushes the page it unmapped:
     * `cr3`, a CR3 reload (KVM_REQ_MMU_SYNC syncs every unsync page below the
     * root); `invlpg`, an INVLPG of the one gva (kvm_mmu_invlpg syncs that one
     * SPTE in each root). Absent: cr3 (a scenario without it digests as before).
     */
    munmapFlush: z.enum(['cr3', 'invlpg']).optional(),
    /**
     * Shadow paging: this vCPU's processes take their page-table pages from
     * [pageTableGfnStart, + pageTableGfns), which must lie in a memslot at or above
     * gfn 2^27 (the guest kernel's half). Default: one region per vCPU after the
     * guest kernel's own 1024 frames at 2^27.
     */
    pageTableGfnStart: count(LIMITS.pages).optional(),
    pageTableGfns: positive(LIMITS.pages).default(4096),
    /**
     * Pages this vCPU touched before the run starts, one in each 2 MiB region from
     * gfnStart on: their faults run through the fault path at time 0, untimed and
     * outside the metrics, so the run starts with their mappings (and shadow pages) built.
     */
    warmPages: count(LIMITS.pages).default(0),
    /**
     * Changes of the access pattern over the run (boot, then steady state; a
     * memslot the VMM moved, followed): each phase's keys over the base workload
     * (this one, with the vCPU's vcpuWorkloads entry) from its start on. Absent:
     * the base workload throughout (a scenario without it digests as before).
     */
    phases: phasesSchema.optional(),
  })
  .describe('workload');

/**
 * The workload's keys, each optional and without its default: an override that
 * names one key must not reset the others to their defaults (as .partial() would).
 */
const overrideShape: Record<string, z.ZodTypeAny> = {};
for (const [k, v] of Object.entries(workloadSchema.shape)) {
  const t = v as z.ZodTypeAny;
  overrideShape[k] = (t instanceof z.ZodDefault ? (t as z.ZodDefault<z.ZodTypeAny>).unwrap() : t).optional();
}
export const workloadOverrideSchema = z.strictObject(overrideShape) as unknown as z.ZodType<Partial<z.infer<typeof workloadSchema>>>;

export const invalidationSchema = z.strictObject({
  /** What the host does to the pages: reclaim (unmap+free), migrate/numa (move), ksm (merge). */
  kind: z.enum(['reclaim', 'migrate', 'numa', 'ksm']).default('migrate'),
  threads: positive(LIMITS.threads).default(1),
  /** Gap between two invalidations of one thread, ns. */
  intervalNs: ns.default(100000),
  /** Pages per invalidation range. */
  rangePages: positive(LIMITS.pages).default(512),
  /** Time between invalidate_range_start returning and invalidate_range_end, ns. */
  holdNs: ns.default(10000),
  /** Where ranges fall, in gfns of the guest (translated to host virtual addresses). */
  gfnStart: count(LIMITS.pages).default(0),
  gfnCount: positive(LIMITS.pages).default(1024),
  /** Invalidations per thread (0: no limit). */
  count: count(1e9).default(0),
  /** Successive ranges may overlap: start at random offsets, not aligned to rangePages. */
  overlapping: z.boolean().default(true),
  /** First invalidation at this time, ns. */
  startNs: ns.default(0),
  /**
   * kind reclaim only: ask first whether the range was referenced (folio_referenced
   * → clear_flush_young → kvm_age_gfn), keep it when young, reclaim it when old.
   * No default written out, so that a scenario without it reads as before.
   */
  age: z.boolean().optional(),
});

/** KVM_USER_MEM_SLOTS on x86: the ids above are KVM's own (private) memslots. */
const USER_MEMSLOT_ID_MAX = 32763;
const memslotId = count(USER_MEMSLOT_ID_MAX);

export const memslotSchema = z.strictObject({
  id: memslotId,
  baseGfn: count(LIMITS.pages),
  pages: positive(LIMITS.pages),
  /** Host virtual address of the slot's first page, in pages (hva >> 12). Default: after the previous slot. */
  hvaPage: count(2 ** 40).optional(),
});

/** The keys each op of host.memslotChanges takes besides atNs, op and slot: all of them required. */
export const MEMSLOT_CHANGE_KEYS = { create: ['baseGfn', 'pages'], move: ['baseGfn'], delete: [] } as const;

export const memslotChangeSchema = z
  .strictObject({
    atNs: ns,
    op: z.enum(['delete', 'move', 'create']),
    slot: memslotId,
    /** move/create: the new base gfn (required by both). */
    baseGfn: count(LIMITS.pages).optional(),
    /** create: pages (required). */
    pages: positive(LIMITS.pages).optional(),
  })
  .superRefine((c, ctx) => {
    // Per op: a key the op needs is required, one it does not take is refused (no silent gfn 0 or 1 page).
    const takes: readonly string[] = MEMSLOT_CHANGE_KEYS[c.op];
    const words = takes.length === 0 ? 'slot only' : `slot${takes.length > 1 ? ', ' : ' and '}${takes.join(' and ')}`;
    for (const key of ['baseGfn', 'pages'] as const) {
      if (takes.includes(key) && c[key] === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `missing; expected a number (a ${c.op} takes ${words})` });
      else if (!takes.includes(key) && c[key] !== undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `not taken by a ${c.op}; expected no ${key} (a ${c.op} takes ${words})` });
    }
  });

/**
 * Live migration's dirty logging of one memslot: the VMM enables
 * KVM_MEM_LOG_DIRTY_PAGES, copies every page, then harvests with KVM_GET_DIRTY_LOG.
 */
/** The largest dirty ring a scenario may ask for, in entries: the kernel's KVM_DIRTY_RING_MAX_ENTRIES. */
export const MAX_DIRTY_RING_SIZE = KVM_DIRTY_RING_MAX_ENTRIES;

export const dirtyLogSchema = z.strictObject({
  /** The memslot whose writes are logged (a slot of vm.memslots that no change deletes or moves). */
  slot: memslotId,
  /** When logging is enabled, ns. */
  startNs: ns.default(0),
  /** KVM_GET_DIRTY_LOG calls after it. */
  harvests: count(1000).default(1),
  /** Time between one ioctl's copies and the next harvest, ns. */
  intervalNs: ns.default(100000),
  /**
   * Who write-protects what the bitmap reports (DirtyLogProtect): `get`
   * KVM_GET_DIRTY_LOG (manual protect off), `manual` KVM_CLEAR_DIRTY_LOG after
   * it (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), `manual-initially-set` the same with
   * the bitmap initially all set. Absent: `get` (a scenario without it digests as before).
   */
  protect: z.enum(DIRTY_LOG_PROTECTS).optional(),
  /**
   * Where dirty gfns go (DirtyLogMode): `bitmap` the memslot's dirty bitmap
   * (KVM_GET_DIRTY_LOG), `ring` a dirty ring per vCPU (KVM_CAP_DIRTY_LOG_RING,
   * collected and recycled with KVM_RESET_DIRTY_RINGS; `protect` does not
   * apply). Absent: `bitmap` (a scenario without it digests as before).
   */
  mode: z.enum(DIRTY_LOG_MODES).optional(),
  /**
   * Under `ring`: entries of each vCPU's ring, a power of two. The kernel takes
   * 256 (a page) to 65536; below 256 only for the model's small check worlds.
   * Absent: 4.
   */
  ringSize: z
    .number()
    .int()
    .min(2)
    .max(MAX_DIRTY_RING_SIZE)
    .refine((n) => (n & (n - 1)) === 0, { message: 'expected a power of two (KVM_CAP_DIRTY_LOG_RING takes one)' })
    .optional(),
  /**
   * Under `ring`: entries each ring keeps above its soft limit
   * (kvm_dirty_ring_get_rsvd_entries), at most ringSize - 2. Absent: the
   * kernel's without PML (KVM_DIRTY_RING_RSVD_ENTRIES, 64) for a ring of a
   * size the kernel takes, none for a smaller one (dirtyRingReserve).
   */
  ringReserve: z.number().int().min(0).max(MAX_DIRTY_RING_SIZE).optional(),
});

/** The ring size a scenario defaults to under `ring`: small, so that a check world reaches the soft-full exit. */
export const DEFAULT_DIRTY_RING_SIZE = 4;

const settingsShape: Record<string, z.ZodTypeAny> = {};
for (const s of SETTINGS) {
  settingsShape[s.key] =
    s.range !== undefined
      ? s.values.length > 0
        ? z.union([z.enum(s.values as [string, ...string[]]), z.number().int().min(s.range.min).max(s.range.max)]).optional()
        : z.number().int().min(s.range.min).max(s.range.max).optional()
      : typeof s.default === 'boolean'
        ? z.boolean().optional()
        : z.enum(s.values as [string, ...string[]]).optional();
}

const costsShape: Record<string, z.ZodTypeAny> = {};
for (const k of Object.keys(DEFAULT_COSTS)) costsShape[k] = ns.optional();

export const scenarioSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(10000).default(''),
    vm: z.strictObject({
      vcpus: positive(LIMITS.vcpus),
      memslots: z.array(memslotSchema).min(1).max(LIMITS.memslots),
      /** The APIC-access page: its private memslot exists and vCPUs use it. */
      apicAccessPage: z.boolean().default(true),
    }),
    workload: workloadSchema.default(() => workloadSchema.parse({})),
    /** Per-vCPU overrides of `workload`, by index: only the keys given override. */
    vcpuWorkloads: z.array(workloadOverrideSchema).max(LIMITS.vcpus).default([]),
    host: z
      .strictObject({
        invalidations: z.array(invalidationSchema).max(16).default([]),
        /** The APIC-access page is migrated every this many ns (0: never). */
        apicPageMigrationNs: ns.default(0),
        /** APIC-access page migrations (0: no limit). */
        apicPageMigrations: count(1e9).default(0),
        memslotChanges: z.array(memslotChangeSchema).max(1000).default([]),
        /**
         * The host maps the first this many pages of every user memslot before the
         * run, as MAP_POPULATE would, with no SPTE yet: invalidations have pages to
         * change from the start (check scenarios).
         */
        populatePages: count(65536).default(0),
        /** Dirty logging of one memslot (absent: none; a scenario without it digests as before). */
        dirtyLog: dirtyLogSchema.optional(),
      })
      .default({ invalidations: [], apicPageMigrationNs: 0, apicPageMigrations: 0, memslotChanges: [], populatePages: 0 }),
    settings: z.strictObject(settingsShape).default({}),
    costs: z.strictObject(costsShape).default({}),
    stop: z
      .strictObject({
        /** Simulated time to stop at, ns (none: the run ends when its threads do). */
        timeNs: positiveNs.optional(),
        accesses: count(LIMITS.stopAccesses).optional(),
        /** No progress on an awaited event for this long is a livelock, ns. */
        livelockNs: positiveNs.optional(),
      })
      .default({}),
    seed: z.number().int().min(0).max(MAX_SEED).default(1),
  })
  .superRefine((s, ctx) => {
    // What KVM_SET_USER_MEMORY_REGION would refuse, located at the field.
    for (const issue of memslotIssues(s.vm.memslots, s.host.memslotChanges, privateMemslots(s.vm.apicAccessPage)))
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    // Where the threads reach: memory the memslots hold.
    for (const issue of workloadIssues(s)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    const log = s.host.dirtyLog;
    if (log !== undefined) {
      const ids = s.vm.memslots.map((m) => m.id);
      if (!ids.includes(log.slot))
        ctx.addIssue({
          code: 'custom',
          path: ['host', 'dirtyLog', 'slot'],
          message: `no memslot ${log.slot}; expected one of vm.memslots' ids (${ids.join(', ')})`,
        });
      if (log.mode === 'ring' && log.protect !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['host', 'dirtyLog', 'protect'],
          message: 'not taken with mode ring; expected no protect (KVM_RESET_DIRTY_RINGS write-protects what the rings reported)',
        });
      if (log.mode !== 'ring' && log.ringSize !== undefined)
        ctx.addIssue({ code: 'custom', path: ['host', 'dirtyLog', 'ringSize'], message: 'taken only with mode ring; expected no ringSize (or mode: ring)' });
      if (log.mode !== 'ring' && log.ringReserve !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['host', 'dirtyLog', 'ringReserve'],
          message: 'taken only with mode ring; expected no ringReserve (or mode: ring)',
        });
      const size = log.ringSize ?? DEFAULT_DIRTY_RING_SIZE;
      if (log.mode === 'ring' && log.ringReserve !== undefined && log.ringReserve > size - 2)
        ctx.addIssue({
          code: 'custom',
          path: ['host', 'dirtyLog', 'ringReserve'],
          message: `${log.ringReserve} of a ${size}-entry ring; expected at most ${size - 2} (a soft limit of 2 or more: with one usable entry each exit's reset re-protects the page its own fault made writable)`,
        });
      const i = s.host.memslotChanges.findIndex((c) => c.slot === log.slot);
      if (i >= 0)
        ctx.addIssue({
          code: 'custom',
          path: ['host', 'memslotChanges', i, 'slot'],
          message: `memslot ${log.slot} is the one host.dirtyLog logs; expected a slot that dirty logging leaves alone (the model does not delete, move or re-create a logged slot)`,
        });
    }
  });

export type Scenario = z.infer<typeof scenarioSchema>;
export type Workload = z.infer<typeof workloadSchema>;
export type InvalidationSpec = z.infer<typeof invalidationSchema>;

/** Whether some host reclaim ages its pages first (host.invalidations[].age): only such a world keeps Accessed bits and aging's metrics. */
export function reclaimAges(scenario: Pick<Scenario, 'host'>): boolean {
  return scenario.host.invalidations.some((i) => i.age === true);
}
