import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The sources are formatted and linted by biome (biome.json); `npm run format` fixes most of what this reports.
test('lint: biome check passes on src, test and scripts', () => {
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
  const r = spawnSync(process.execPath, [biome, 'check', '--max-diagnostics=20', 'src', 'test', 'scripts'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `biome check failed:\n${r.stdout}${r.stderr}`);
});

// tsx runs the tests without type-checking them; test/tsconfig.json checks them with src (npm run typecheck).
test('lint: tsc -p test/tsconfig.json finds no type error in src and test', () => {
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', fileURLToPath(new URL('../tsconfig.json', import.meta.url))], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc -p test/tsconfig.json failed:\n${r.stdout}${r.stderr}`);
});
