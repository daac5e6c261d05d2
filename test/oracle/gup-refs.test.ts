import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatInterleaving } from '../../src/check/counterexample.js';
import { gupHolders, heldFreeNote, withoutHeldFreeNote } from '../../src/oracle/gup-refs.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';
import { counterexampleOf } from '../report/fixtures.js';
import { tempDir } from '../temp-dir.js';

test('gupHolders: the vCPUs whose Vcpu.gupPfn is the pfn, in id order (the model sets it at get_user_pages and clears it where the kernel puts the page: the two tests below show both ends)', () => {
  const vcpus = [
    { id: 0, gupPfn: 0x1000 },
    { id: 1, gupPfn: -1 },
    { id: 2, gupPfn: 0x1000 },
  ];
  assert.deepEqual(gupHolders(vcpus, 0x1000), [0, 2]);
  assert.deepEqual(gupHolders(vcpus, 0x1001), []);
});

test("a host free of a page a fault still holds the get_user_pages reference to says so, and the violation says what the kernel's migration would do instead, back off (a probe: 'migrate: free pfn 0x1000' while vCPU0's fault held it, then '(use after free)' at once; a later probe: 'the kernel frees it when that goes' of a migration, which backs off)", () => {
  const text = formatInterleaving(counterexampleOf('fault-vs-invalidation-mini', 'fault-skip-range-check'));
  assert.match(
    text,
    /\n *\d+\. migrate: free pfn 0x1000 \(vCPU0 still holds the reference get_user_pages took: the kernel's migration would find that reference and back off, mapping the old page back; the model frees it here to expose the use, docs\/model-limits\.md\)\n/,
  );
  const violation = text.split('\n').at(-1)!;
  assert.match(
    violation,
    /^=> stale-translation \(vCPU0\): vCPU0 (wrote|read) gfn 0x0 through its SPTEs and reached pfn 0x1000; the host maps hva 0x3f8000000000 to pfn 0x1001: migrate unmapped pfn 0x1000 while vCPU0 held the reference get_user_pages took: the kernel's migration would find that reference and back off, mapping the old page back; the model freed it at once to expose the use \(docs\/model-limits\.md, "Page references"\)$/,
  );
  assert.doesNotMatch(violation, /which (?:apic-)?migrate freed|freed once that reference goes|frees it when that goes/);
  // The APIC-access reload holds its reference from get_user_pages to APIC_ACCESS_ADDR's write.
  const apic = formatInterleaving(counterexampleOf('apic-reload-mini', 'apic-reload-no-retry'));
  assert.match(apic, /migrate: free pfn 0x1000 \(vCPU0 still holds the reference get_user_pages took: /);
  assert.match(
    apic,
    /APIC_ACCESS_ADDR pfn 0x1000, which apic-migrate unmapped while vCPU0 held the reference get_user_pages took \(the kernel's migration would find that reference and back off, mapping the old page back; the model freed it at once to expose the use: /,
  );
});

test('reclaim, which does not back off, frees the page once the reference goes: the free line and the violation say that of a reclaim (seq-window with its migration made a reclaim)', () => {
  const file = join(tempDir('gup-refs-'), 'reclaim.yaml');
  writeFileSync(file, readFileSync('test/fixtures/seq-window.yaml', 'utf8').replace('kind: migrate', 'kind: reclaim'));
  const s = loadScenario(file);
  const bad = simulate(s, { settings: effectiveSettings(s), mutant: 'fault-skip-seq-check', seed: 1 });
  assert.equal(bad.violations[0]?.kind, 'stale-translation');
  assert.match(
    bad.violations[0]!.message,
    /: reclaim unmapped pfn 0x1000 at [\d.]+(?:ns|µs|ms) while vCPU0 held the reference get_user_pages took: the kernel frees the page once that reference goes; the model freed it at once, a use after free then \(docs\/model-limits\.md, "Page references"\)$/,
  );
  assert.doesNotMatch(bad.violations[0]!.message, /back off/);
  assert.equal(
    heldFreeNote([0], 'reclaim'),
    ' (vCPU0 still holds the reference get_user_pages took: the kernel frees the page once that reference goes; the model frees it here, docs/model-limits.md)',
  );
  assert.match(heldFreeNote([0], 'ksm'), /the kernel's KSM merge would find that reference and back off/);
});

test('a host free of a page no one holds a reference to any more is a free, as before: vcpu-enter-ignores-requests, whose APIC-access reload wrote APIC_ACCESS_ADDR (and put the page) before the migration freed it', () => {
  const lines = formatInterleaving(counterexampleOf('apic-reload-mini', 'vcpu-enter-ignores-requests')).split('\n');
  const free = lines.findIndex((l) => / free pfn 0x1000/.test(l));
  const set = lines.findIndex((l) => /APIC_ACCESS_ADDR := pfn 0x1000/.test(l));
  assert.ok(set >= 0 && free > set, lines.join('\n'));
  assert.match(lines[free]!, / free pfn 0x1000$/);
  // The thread that freed it, not its kind: apic-page-reload has another thread named migrate (a probe).
  assert.match(lines.at(-1)!, /APIC_ACCESS_ADDR pfn 0x1000, which apic-migrate freed, /);
});

test("the audit compares a free's text without its held-reference note, which depends on another thread's progress as a lock note does (a probe: the footprint audit saw 'free pfn 0x1000 (vCPU1 still holds ...)' in one order and 'free pfn 0x1000' in the commuted one)", () => {
  for (const holders of [[1], [0, 1]]) {
    for (const kind of ['migrate', 'reclaim']) {
      assert.equal(withoutHeldFreeNote(`${kind}: free pfn 0x1000${heldFreeNote(holders, kind)}`), `${kind}: free pfn 0x1000`);
    }
  }
  assert.equal(withoutHeldFreeNote('migrate: free pfn 0x1000'), 'migrate: free pfn 0x1000');
});
