import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { sameFile } from '../cli/output-path.js';
import { InputError } from '../scenario/input-error.js';

/**
 * The counterexample files check parts name, as mmulab merge reads, reports
 * and records them.
 */

/** A part file and the counterexample file it names (null: it found none). */
export interface PartCounterexample {
  name: string;
  json: { counterexample: string | null };
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
 * Parts that found a violation each wrote a counterexample; when several wrote
 * it to one file (check's default cex.json, in one folder), it holds the last
 * written, which may not be the one the merge reports: said on stderr.
 */
export function warnSharedCounterexample(reported: string | null, parts: readonly PartCounterexample[]): void {
  if (reported === null) return;
  const same = parts.filter((p) => p.json.counterexample !== null && resolve(p.json.counterexample) === resolve(reported));
  if (same.length < 2) return;
  process.stderr.write(
    `mmulab: warning: ${same.map((p) => p.name).join(', ')} all wrote their counterexample to ${reported}: it holds the one written last, maybe not the one reported here; give each part its own --out\n`,
  );
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
