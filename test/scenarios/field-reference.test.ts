import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { z } from 'zod';
import {
  dirtyLogSchema,
  invalidationSchema,
  memslotChangeSchema,
  memslotSchema,
  phaseSchema,
  scenarioSchema,
  workloadSchema,
} from '../../src/scenario/schema.js';

/**
 * The field names of the tables under each heading of a markdown text: the
 * first cell of each row when it is one `code` span, by the heading's text.
 */
function tableFields(markdown: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let heading = '';
  for (const line of markdown.split('\n')) {
    const h = /^#{2,4} (.+)$/.exec(line);
    if (h !== null) {
      heading = h[1]!.trim();
      out.set(heading, new Set());
      continue;
    }
    const row = /^\| `([A-Za-z]+)` \|/.exec(line);
    if (row !== null && heading !== '') out.get(heading)!.add(row[1]!);
  }
  return out;
}

/** The keys of an object schema, through the defaults and optionals around it. */
function keysOf(schema: unknown): string[] {
  let t = schema as { shape?: Record<string, unknown>; unwrap?: () => unknown };
  while (t.shape === undefined && typeof t.unwrap === 'function') t = t.unwrap() as typeof t;
  assert.ok(t.shape !== undefined, 'an object schema');
  return Object.keys(t.shape).sort();
}

const top = scenarioSchema.shape as unknown as Record<string, z.ZodTypeAny>;
const doc = tableFields(readFileSync('docs/scenarios.md', 'utf8'));
const readme = tableFields(readFileSync('README.md', 'utf8'));

/** Each section of docs/scenarios.md (by heading) and the schema whose keys its table must list, no more and no fewer. */
const sections: [heading: string, schema: unknown][] = [
  ['Top level', scenarioSchema],
  ['`vm`', top.vm],
  ['`vm.memslots[]`', memslotSchema],
  ['`workload` and `vcpuWorkloads[]`', workloadSchema],
  ['`workload.phases[]`', phaseSchema],
  ['`host`', top.host],
  ['`host.invalidations[]`', invalidationSchema],
  ['`host.memslotChanges[]`', memslotChangeSchema],
  ['`host.dirtyLog`', dirtyLogSchema],
  ['`costs`', top.costs],
  ['`stop`', top.stop],
];

test('docs/scenarios.md lists every field the scenario schema accepts, section by section, and none it does not', () => {
  for (const [heading, schema] of sections) {
    const listed = doc.get(heading);
    assert.ok(listed !== undefined, `docs/scenarios.md has a section "## ${heading}"`);
    assert.deepEqual([...listed].sort(), keysOf(schema), `the table of ${heading}`);
  }
});

test("the settings a scenario's `settings` takes are the README's settings table, which docs/scenarios.md links to", () => {
  const listed = readme.get('Settings');
  assert.ok(listed !== undefined, 'README has a "## Settings" section');
  assert.deepEqual([...listed].sort(), keysOf(top.settings));
  assert.match(readFileSync('docs/scenarios.md', 'utf8'), /\[README's settings table\]\(\.\.\/README\.md#settings\)/);
});

test("the parser finds a field missing from a section's table (the test would catch a reference gone stale)", () => {
  const fields = tableFields('## `stop`\n\n| field | x |\n|---|---|\n| `timeNs` | a |\n| `accesses` | b |\n');
  assert.notDeepEqual([...fields.get('`stop`')!].sort(), keysOf(top.stop));
});
