import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';

// The sources are formatted and linted by biome (biome.json); `npm run format` fixes most of what this reports.
test('lint: biome check passes on src, test and scripts', () => {
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
  const r = spawnSync(process.execPath, [biome, 'check', '--max-diagnostics=20', 'src', 'test', 'scripts'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `biome check failed:\n${r.stdout}${r.stderr}`);
});
