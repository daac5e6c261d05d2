import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captured } from './captured-cli.js';

/** The run table's value of a row, by its label. */
function value(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label}  `));
  assert.ok(line, `a row '${label}' in:\n${stdout}`);
  return line.slice(label.length).trim();
}

test("run table: the zap row counts kvm_mmu_zap_memslot's flushes too, so it does not call them zap-all (a probe: 'zap-all started/done, longest  1 / 1' where the only zap was the slot-only one)", async () => {
  const r = await captured(['run', 'slot-zap-accounting', '--set', 'memslotFlush=zap-slot-rmap-only']);
  assert.doesNotMatch(r.stdout, /^zap-all started/m);
  assert.match(value(r.stdout, 'zap-all/memslot zaps started/done, longest'), /^1 \/ 1, \d/);
});
