import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/**
 * Which mmulab wrote a result, for `mmulab merge` to refuse parts of two
 * builds (a part re-run after an upgrade): the model, its checker and its
 * strategies change the figures, and parts of two of them add up to neither.
 * A SHA-256 of the code that runs: the files of this module's kind (.js, or
 * .ts under tsx) in the folder it is loaded from, sorted by path: dist/ for
 * the built CLI, src/ for the tests. Not the sources beside a build: a node
 * that pulled new sources but did not rebuild runs, and records, the old code;
 * an edit of the sources alone leaves the built code, and its parts, as they
 * were. Computed once a process.
 */
export function buildDigest(): string {
  cached ??= codeDigest(fileURLToPath(import.meta.url));
  return cached;
}

/**
 * The digest of the code a module at `self` belongs to: <code>/sweep/build-digest.ts
 * (src/), or <code>/sweep/build-digest.js once built (dist/), hashes <code>'s files of its kind.
 */
export function codeDigest(self: string): string {
  const dir = join(dirname(self), '..');
  const ext = extname(self);
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`)).sort();
  const h = createHash('sha256');
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(readFileSync(join(dir, f)))
      .update('\0');
  return `sha256:${h.digest('hex')}`;
}
