import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Counterexample } from '../check/counterexample.js';
import type { Shard } from '../check/shard.js';
import type { CheckJson } from '../cli/check-json.js';
import { sameFile } from '../cli/output-path.js';
import { InputError } from '../scenario/input-error.js';

/**
 * The counterexample files check parts name, as mmulab merge reads, reports
 * and records them.
 */

/** A part file and the counterexample file it names (null: it found none). */
export interface PartCounterexample {
  name: string;
  json: { counterexample: string | null; shard?: Shard | null; summary?: { violationExecution?: number | null } };
}

/** A part's --shard, as a counterexample's `found` records it. */
const shardWords = (s: Shard) => `${s.index}/${s.count}`;

/**
 * The counterexample a check writes: a part's (--shard i/n, n > 1) records which part found it, and at which
 * execution (Counterexample.found): its summary's violationExecution, left out where that is null (a dfs part).
 */
export function partCounterexampleFile(cex: Counterexample, shard: Shard | null, execution: number | null | undefined): Counterexample {
  if (shard === null || shard.count === 1) return cex;
  const out: Record<string, unknown> = {};
  // Before `property`, as the type lists it.
  for (const [k, v] of Object.entries(cex)) {
    if (k === 'property') out.found = execution != null ? { shard: shardWords(shard), execution } : { shard: shardWords(shard) };
    out[k] = v;
  }
  return out as unknown as Counterexample;
}

/** What a counterexample file says of the part that found it, or null when it says nothing (unsharded, older, unreadable). */
function foundIn(file: string): { shard: string; execution: number | null } | null {
  try {
    const f = (JSON.parse(readFileSync(file, 'utf8')) as { found?: { shard?: unknown; execution?: unknown } }).found;
    if (typeof f?.shard !== 'string') return null;
    return { shard: f.shard, execution: typeof f.execution === 'number' ? f.execution : null };
  } catch {
    return null;
  }
}

/** `found` in words: "shard 1/2's (execution 40)". */
const foundWords = (f: { shard: string; execution: number | null }) => `shard ${f.shard}'s${f.execution !== null ? ` (execution ${f.execution})` : ''}`;

/**
 * The counterexample file the merge reports (`file`), of the part that found the first violation (`lead`),
 * when its record (Counterexample.found) says another part wrote it (parts sharing one --out): said on
 * stderr, and true, so that the merge records none. False when it is the lead's, or says nothing.
 */
export function otherPartsCounterexample(file: string | null, lead: PartCounterexample | null, say: boolean): boolean {
  if (file === null || lead === null || !existsSync(file) || !lead.json.shard) return false;
  const found = foundIn(file);
  if (found === null) return false;
  const mine = { shard: shardWords(lead.json.shard), execution: lead.json.summary?.violationExecution ?? null };
  if (found.shard === mine.shard && found.execution === mine.execution) return false;
  if (say)
    process.stderr.write(
      `mmulab: warning: ${file} holds ${foundWords(found)} counterexample, not ${foundWords(mine)}, the one reported here (parts sharing one --out: the file holds the one written last); the merge records no counterexample file; give each part its own --out\n`,
    );
  return true;
}

/** The absolute path `file` as seen from `folder`: relative below it, absolute outside it. */
function seenFrom(folder: string, file: string): string {
  const rel = relative(folder, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/**
 * A part's counterexample file as seen from here: check records its --out as
 * given, relative to the folder it ran in, which is the part file's folder
 * when both were written side by side. A relative path that names a file
 * there is given from the current folder; otherwise it is kept as recorded.
 */
export function cexFromHere(partFile: string, cex: string | null): string | null {
  if (cex === null || isAbsolute(cex)) return cex;
  const beside = resolve(dirname(partFile), cex);
  return existsSync(beside) ? seenFrom(process.cwd(), beside) : cex;
}

/**
 * The merged --json as it records the counterexample (`json.counterexample`,
 * as seen from here, of the part `lead`, as read): by an absolute path when
 * the file is found from here, so that the merged file works from any folder.
 * When it is not (the part recorded a path relative to a folder it ran in, or
 * on another machine), the file knows no counterexample file: null, and
 * `counterexampleNotFound` says which part named which path, as recorded.
 */
export function recordedCounterexample(json: CheckJson, lead: PartCounterexample | null): CheckJson {
  const here = json.counterexample;
  // A counterexample is the lead part's: with none, there is nothing to record.
  if (here === null || lead === null) return json;
  if (existsSync(here)) return { ...json, counterexample: resolve(here) };
  return unfoundCounterexample(json, lead);
}

/**
 * `json` recording no counterexample file (null), and in `counterexampleNotFound`
 * the part `lead` and the path it recorded: for a file not found from here, or
 * found holding another violation (foreignCounterexample).
 */
export function unfoundCounterexample(json: CheckJson, lead: PartCounterexample): CheckJson {
  const out: Record<string, unknown> = {};
  // Beside `counterexample`, where a reader looks for it.
  for (const [k, v] of Object.entries(json)) {
    if (k === 'counterexampleNotFound') continue;
    out[k] = k === 'counterexample' ? null : v;
    if (k === 'counterexample') out.counterexampleNotFound = { part: resolve(lead.name), path: lead.json.counterexample ?? json.counterexample };
  }
  return out as unknown as CheckJson;
}

/** The parts that name `reported` as their counterexample file. */
function sharers(reported: string | null, parts: readonly PartCounterexample[]): PartCounterexample[] {
  return reported === null ? [] : parts.filter((p) => p.json.counterexample !== null && resolve(p.json.counterexample) === resolve(reported));
}

/** True when several parts name the counterexample file reported. */
export function sharedCounterexample(reported: string | null, parts: readonly PartCounterexample[]): boolean {
  return sharers(reported, parts).length > 1;
}

/**
 * Parts that found a violation each wrote a counterexample; when several wrote
 * it to one file (check's default cex.json, in one folder), it holds the last
 * written, which may not be the one the merge reports: said on stderr, with
 * whose it is when the file records it (Counterexample.found).
 */
export function warnSharedCounterexample(reported: string | null, parts: readonly PartCounterexample[], lead: PartCounterexample | null): void {
  const same = sharers(reported, parts);
  if (reported === null || same.length < 2) return;
  const who = same.length === 2 ? `${same[0]!.name} and ${same[1]!.name} both` : `${same.map((p) => p.name).join(', ')} all`;
  // The file's record of its part says which one it holds; a file without one (an older mmulab's) does not.
  const found = existsSync(reported) ? foundIn(reported) : null;
  const mine = lead?.json.shard ? shardWords(lead.json.shard) : null;
  const which =
    found === null
      ? 'it holds the one written last, maybe not the one reported here'
      : found.shard === mine && found.execution === (lead?.json.summary?.violationExecution ?? null)
        ? `it holds ${foundWords(found)}, the one reported here, written last`
        : `it holds ${foundWords(found)}, written last, not the one reported here`;
  process.stderr.write(`mmulab: warning: ${who} wrote their counterexample to ${reported}: ${which}; give each part its own --out\n`);
}

/** --json on a part's counterexample would leave the replay merge prints nothing to replay: refused before anything is written. */
export function refuseOverCounterexample(json: string, parts: readonly PartCounterexample[]): void {
  for (const p of parts) {
    const cex = p.json.counterexample;
    if (cex !== null && existsSync(cex) && sameFile(json, cex)) {
      throw new InputError(`--json ${json}: is the counterexample file of ${p.name} (${cex}); it would be overwritten, expected another file`);
    }
  }
}

/**
 * A counterexample file the merge reports that holds another violation than
 * its part recorded (a --out left from another run, a file written over since):
 * said on stderr, and true, so that the merge records none (replaying it would
 * show something else). A file that cannot be read as one is left to replay to
 * refuse.
 */
export function foreignCounterexample(file: string | null, violation: { kind: string; message: string } | null): boolean {
  if (file === null || violation === null || !existsSync(file)) return false;
  let held: { kind?: unknown; message?: unknown } | undefined;
  try {
    held = (JSON.parse(readFileSync(file, 'utf8')) as { violation?: { kind?: unknown; message?: unknown } }).violation;
  } catch {
    return false;
  }
  if (held?.kind === violation.kind && held?.message === violation.message) return false;
  // Two of one kind differ in their message (another vCPU, gfn or pfn): then the messages say which.
  const said = (v: { kind?: unknown; message?: unknown } | undefined) =>
    held?.kind === violation.kind ? `${String(v?.kind)}: ${String(v?.message)}` : String(v?.kind);
  process.stderr.write(
    `mmulab: warning: ${file} holds another violation (${said(held)}) than its part recorded (${said(violation)}): a file of another run, or written over since; the merge records no counterexample file\n`,
  );
  return true;
}
