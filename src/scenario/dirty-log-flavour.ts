import { DIRTY_LOG_PROTECTS } from '../kvm/dirty-log.js';
import { InputError } from './input-error.js';
import { DEFAULT_DIRTY_RING_SIZE, MAX_DIRTY_RING_SIZE, type Scenario } from './schema.js';

/**
 * The dirty-log flavour knob (--set/--vary dirtyLog=…): a bitmap protect
 * (`get`, `manual`, `manual-initially-set`), or `ring`, optionally with its
 * size (`ring:64`).
 */
export type DirtyLogFlavour = string;

/** The flavour words, as an error lists them. */
export const FLAVOUR_WORDS = [...DIRTY_LOG_PROTECTS, 'ring', 'ring:N'] as const;

/** Whether n is a ring size the schema takes: a power of two, 2–1024. */
function ringSizeOk(n: number): boolean {
  return Number.isInteger(n) && n >= 2 && n <= MAX_DIRTY_RING_SIZE && (n & (n - 1)) === 0;
}

/** The ring sizes, as an error says them. */
export const RING_SIZE_WORDS = `a power of two from 2 to ${MAX_DIRTY_RING_SIZE}`;

/** Parses a dirtyLog value; `given` is how a refusal quotes it (the flag and its text). */
export function parseFlavour(text: string, given: string): DirtyLogFlavour {
  if ((DIRTY_LOG_PROTECTS as readonly string[]).includes(text) || text === 'ring') return text;
  const m = /^ring:(\d+)$/.exec(text);
  if (m !== null && ringSizeOk(Number(m[1]))) return `ring:${Number(m[1])}`;
  if (m !== null) throw new InputError(`${given}: a ring's size is ${RING_SIZE_WORDS}`);
  throw new InputError(`${given}: dirtyLog expects one of ${FLAVOUR_WORDS.join(', ')} (N ${RING_SIZE_WORDS})`);
}

/** Parses a ringSize value; `given` is how a refusal quotes it. */
export function parseRingSize(text: string, given: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!ringSizeOk(n)) throw new InputError(`${given}: ringSize expects ${RING_SIZE_WORDS}`);
  return n;
}

/**
 * Sets `s`'s (a copy's) host.dirtyLog to the flavour and, when given, the ring
 * size. A knob leaves the scenario's field as it was when it asks for what the
 * scenario has, and a default absent (a ring's 4 entries), so that
 * `ring:N` with the size the scenario's ring already has digests as `ring`.
 * Refused (InputError "<knob>=<v>: …"): a scenario without dirty logging, a
 * ring size for a bitmap, and a ring size given twice (`ring:N` and `ringSize`).
 */
export function setFlavour(s: Scenario, flavour: DirtyLogFlavour | undefined, ringSize: number | undefined): void {
  const log = s.host.dirtyLog;
  if (log === undefined) {
    const knob = flavour !== undefined ? `dirtyLog=${flavour}` : `ringSize=${ringSize}`;
    throw new InputError(
      `${knob}: the scenario has no dirty logging (host.dirtyLog is absent); expected a scenario with one (live-migration, dirty-log-mini, …)`,
    );
  }
  const [word, sized] = flavour?.split(':') ?? [];
  if (sized !== undefined && ringSize !== undefined)
    throw new InputError(
      `ringSize=${ringSize}: the ring's size is given twice (dirtyLog=${flavour} and ringSize=${ringSize}); expected one of them (dirtyLog=ring:N, or dirtyLog=ring with ringSize=N)`,
    );
  if (word !== undefined && word !== 'ring') {
    if (ringSize !== undefined)
      throw new InputError(
        `ringSize=${ringSize}: dirtyLog=${flavour} makes the dirty log a bitmap, which has no ring to size; expected dirtyLog=ring (or dirtyLog=ring:${ringSize} alone)`,
      );
    delete log.mode;
    delete log.ringSize;
    if (word === 'get') delete log.protect;
    else log.protect = word as (typeof DIRTY_LOG_PROTECTS)[number];
    return;
  }
  if (word === undefined && log.mode !== 'ring')
    throw new InputError(
      `ringSize=${ringSize}: the scenario's dirty log is a bitmap (protect ${log.protect ?? 'get'}); expected mode ring (dirtyLog=ring, or dirtyLog=ring:${ringSize} alone)`,
    );
  const size = sized !== undefined ? Number(sized) : ringSize;
  const wasRing = log.mode === 'ring';
  delete log.protect;
  log.mode = 'ring';
  // The size the scenario's ring already has: its field kept as it is (given or absent).
  if (size === undefined || (wasRing && (log.ringSize ?? DEFAULT_DIRTY_RING_SIZE) === size)) {
    if (!wasRing) delete log.ringSize;
    return;
  }
  if (size === DEFAULT_DIRTY_RING_SIZE) delete log.ringSize;
  else log.ringSize = size;
}
