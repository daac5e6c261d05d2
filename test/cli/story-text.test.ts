import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEvent } from '../../src/kvm/events.js';
import { captured, story } from './captured-cli.js';

/** The story (numbered lines and the => line) of `check scenario --mutate mutant`, which must find it. */
/** The stories checked in this file: a check runs once for the tests that read its story (it is seeded: the same story). */
const stories = new Map<string, string[]>();

async function storyOf(scenario: string, mutant: string): Promise<string[]> {
  const key = `${scenario} ${mutant}`;
  let lines = stories.get(key);
  if (lines === undefined) {
    const r = await captured(['check', scenario, '--mutate', mutant, '--json', '/dev/null']);
    assert.equal(r.code, 1, r.stderr);
    lines = story(r.stdout);
    stories.set(key, lines);
  }
  return [...lines];
}

test("a story line does not say the host operation's kind twice when the thread's name says it, and the => line names the thread that unmapped the page (a probe: '1. migrate0.0: migrate: invalidate_range_start', 'apic-migrate: migrate: free pfn', '=> ... migrate unmapped' with two migrate threads)", async () => {
  const twice = /^ *\d+\. [^:]+: (?:[^;]*; )*(migrate|reclaim|numa|ksm): /;
  const widen = await storyOf('concurrent-invalidations-mini', 'range-add-no-widen');
  assert.deepEqual(
    widen.filter((l) => twice.test(l)),
    [],
  );
  assert.ok(
    widen.some((l) => /^ *\d+\. migrate0\.0: invalidate_range_start \[/.test(l)),
    widen.join('\n'),
  );
  assert.match(widen.at(-1)!, /: migrate0\.0 unmapped pfn 0x1000 while vCPU0 held /);
  const apic = await storyOf('apic-reload-mini', 'apic-reload-no-retry');
  assert.deepEqual(
    apic.filter((l) => twice.test(l)),
    [],
  );
  assert.ok(
    apic.some((l) => /^ *\d+\. apic-migrate: free pfn 0x1000 /.test(l)),
    apic.join('\n'),
  );
  // A thread whose name is the kind prints as before, its name once.
  const plain = await storyOf('fault-vs-invalidation-mini', 'fault-skip-range-check');
  assert.ok(
    plain.some((l) => /^ *\d+\. migrate: invalidate_range_start returns$/.test(l)),
    plain.join('\n'),
  );
});

test("a lock-wait note names the line its holder's acquisition is printed on, that holder's line (a probe: 'waited from line 11 while migrate1.0 held it for write' where migrate1.0's write_lock is printed at line 12)", async () => {
  let notes = 0;
  for (const [scenario, mutant] of [
    ['concurrent-invalidations-mini', 'range-add-no-widen'],
    ['apic-reload-mini', 'apic-reload-no-retry'],
  ] as const) {
    const lines = await storyOf(scenario, mutant);
    for (const l of lines) {
      for (const m of l.matchAll(/while (\S+) held it for (read|write), its (?:read|write)_lock on line (\d+)/g)) {
        notes++;
        const on = lines[Number(m[3]) - 1]!;
        assert.match(on, new RegExp(`^ *${m[3]}\\. ${m[1]!.replace(/\./g, '\\.')}: (?:.*; )?${m[2]}_lock\\(mmu_lock\\)`), l);
      }
    }
  }
  assert.ok(notes >= 3, `${notes} notes`);
});

test("a checker story gives no wall or virtual duration (each thread keeps its own clock there), the simulator's event text keeps it, and one page is 'page' (a probe: 'kvm_mmu_zap_all_fast: done in 20 ns', 'begin (1 shadow pages)')", async () => {
  const lines = await storyOf('cached-roots-mini', 'free-obsolete-roots-tests-current');
  assert.deepEqual(
    lines.filter((l) => /\d+ ns\b/.test(l)),
    [],
  );
  assert.ok(
    lines.some((l) => /vmm: kvm_mmu_zap_all_fast: done$/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /kvm_mmu_zap_all_fast: begin \(1 shadow page\)$/.test(l)),
    lines.join('\n'),
  );
  assert.equal(describeEvent({ e: 'zapAllEnd', how: 'kvm_mmu_zap_all_fast', durationNs: 20 }), 'kvm_mmu_zap_all_fast: done in 20 ns');
  assert.equal(describeEvent({ e: 'zapAllBegin', how: 'kvm_mmu_zap_all_fast', pages: 4 }), 'kvm_mmu_zap_all_fast: begin (4 shadow pages)');
});

test("free-obsolete-roots-tests-current's line says which of its two wrongs it did in this execution (a probe: 'an obsolete root kept cached, or a valid one freed')", async () => {
  const lines = await storyOf('cached-roots-mini', 'free-obsolete-roots-tests-current');
  const acted = lines.filter((l) => /the mutant's test/.test(l));
  assert.equal(acted.length, 1, lines.join('\n'));
  assert.match(acted[0]!, /vCPU0: kvm_mmu_free_obsolete_roots judged prev root sp 0 by the current root \(the mutant's test\): sp 0 is obsolete, kept cached$/);
  assert.doesNotMatch(acted[0]!, / or /);
});
