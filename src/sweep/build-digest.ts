import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/**
 * Which mmulab wrote a result, for `mmulab merge` to refuse parts of two
 * builds (a part re-run after an upgrade): the model, its checker and its
 * strategies change the figures, and parts of two of them add up to neither.
 * A SHA-256 of the package's TypeScript sources (src/, sorted by path), so
 * that the built CLI and the tests, which run the sources, agree; of the
 * compiled code where the sources are not shipped. Computed once a process.
 */
export function buildDigest(): string {
  if (cached !== null) return cached;
  // This file is <root>/src/sweep/build-digest.ts, or <root>/dist/sweep/build-digest.js once built.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const src = join(root, 'src');
  const [dir, ext] = existsSync(src) ? [src, '.ts'] : [join(root, 'dist'), '.js'];
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(ext)).sort();
  const h = createHash('sha256');
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(readFileSync(join(dir, f)))
      .update('\0');
  cached = `sha256:${h.digest('hex')}`;
  return cached;
}
