import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { buildDigest, codeDigest } from '../../src/sweep/build-digest.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('mmulab-build-digest-');

test('the build digest is of the code loaded, the folder the digest module runs from, not of src/ beside it (a probe: a built CLI hashed src/, so a pull without a rebuild recorded the new digest over the old code)', () => {
  // A package: its sources in src/, its built code in dist/, the digest module among the latter.
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'src', 'sweep'), { recursive: true });
  mkdirSync(join(pkg, 'dist', 'sweep'), { recursive: true });
  const self = join(pkg, 'dist', 'sweep', 'build-digest.js');
  writeFileSync(self, '// the module\n');
  writeFileSync(join(pkg, 'dist', 'sweep', 'build-digest.js.map'), '{}\n');
  writeFileSync(join(pkg, 'src', 'model.ts'), 'export const x = 1;\n');
  writeFileSync(join(pkg, 'dist', 'model.js'), 'export const x = 1;\n');
  const built = codeDigest(self);
  assert.match(built, /^sha256:[0-9a-f]{64}$/);
  // The sources edited, not rebuilt: the code that runs is the same, and so is its digest.
  writeFileSync(join(pkg, 'src', 'model.ts'), 'export const x = 2;\n');
  assert.equal(codeDigest(self), built);
  // A source map is not code.
  writeFileSync(join(pkg, 'dist', 'sweep', 'build-digest.js.map'), '{"x":1}\n');
  assert.equal(codeDigest(self), built);
  // Rebuilt: the code that runs changed, and so does its digest.
  writeFileSync(join(pkg, 'dist', 'model.js'), 'export const x = 2;\n');
  assert.notEqual(codeDigest(self), built);
  // Under tsx the module runs from src/: its digest is of src/'s .ts files, computed once.
  assert.equal(buildDigest(), codeDigest(resolve('src', 'sweep', 'build-digest.ts')));
  assert.equal(buildDigest(), buildDigest());
});
