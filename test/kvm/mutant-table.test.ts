import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MUTANTS } from '../../src/kvm/mutants.js';

/** The rows of the README's "## Mutants" table: mutant name → scenario, in the table's order. */
function readmeMutants(): Map<string, string> {
  const text = readFileSync('README.md', 'utf8');
  const from = text.indexOf('\n## Mutants\n');
  assert.ok(from >= 0, 'README has a "## Mutants" section');
  const section = text.slice(from + 1, text.indexOf('\n## ', from + 1));
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `([a-z0-9-]+)` \| ([a-z0-9-]+) \|/gm)) rows.set(m[1]!, m[2]!);
  return rows;
}

test("the README's Mutants table has one row per mutant of MUTANTS (src/kvm/mutants.ts), each naming the scenario its spec names, and no other (docs/changing-the-model.md: every place a new mutant must appear)", () => {
  const rows = readmeMutants();
  assert.deepEqual([...rows.keys()].sort(), MUTANTS.map((m) => m.name).sort());
  for (const m of MUTANTS) assert.equal(rows.get(m.name), m.scenario, `${m.name}: the README's scenario`);
});
