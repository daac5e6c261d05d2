import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeEvent } from '../../src/kvm/events.js';
import { tempDir } from '../temp-dir.js';
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
  // The mutant's act, then (since a8cac63) the free's own line saying what it kept.
  const acted = lines.filter((l) => /the mutant's test/.test(l));
  assert.equal(acted.length, 1, lines.join('\n'));
  assert.ok(
    lines.some((l) =>
      /kvm_mmu_free_obsolete_roots \(current none, prev_roots sp 0\): frees none: keeps obsolete sp 0 cached \(judged by the current root\)$/.test(l),
    ),
  );
  assert.match(acted[0]!, /vCPU0: kvm_mmu_free_obsolete_roots judged prev root sp 0 by the current root \(the mutant's test\): sp 0 is obsolete, kept cached$/);
  assert.doesNotMatch(acted[0]!, / or /);
});

test("the story has a root's last put before the zap it makes, as mmu_free_root_page does it and ftrace has it; free_obsolete_roots says it decides, the free coming under mmu_lock; '1 page left' (a probe, chk000: 'kvm_mmu_prepare_zap_page: sp 0 ... (invalid: ... its last root reference gone)' a line before 'put root 0 (count now 0)', 'frees sp 0', '(1 pages left to zap)')", async () => {
  const lines = await storyOf('memslot-delete-lockbreak-mini', 'zap-obsolete-walk-from-head');
  const put = lines.findIndex((l) => /: (?:.*; )?put root 0 \(count now 0\)$/.test(l));
  assert.ok(put >= 0, lines.join('\n'));
  assert.match(lines[put + 1]!, /vCPU0: kvm_mmu_prepare_zap_page: sp 0 .*\(invalid: zapped before, its last root reference gone\)$/);
  assert.ok(
    lines.some((l) =>
      /kvm_mmu_free_obsolete_roots \(current sp 0, prev_roots none\): decides to free sp 0 \(kvm_mmu_free_roots frees, under mmu_lock\)$/.test(l),
    ),
  );
  assert.ok(lines.some((l) => /drop and re-take \(1 page left to zap\)(?:;|$)/.test(l)));
  assert.ok(!lines.some((l) => /pages left to zap|: frees sp/.test(l)));
});

test("request-mode-read-early's story has a line where kvm_make_all_cpus_request reads the vCPU's mode, before the VM-entry that races with it, and its acted line names the vCPU (a probe: the read had no line, and 'a vCPU's mode read ...' came after the entry, naming none)", async () => {
  // The counterexample check printed for it (auto: PCT's 20,000 executions, then dfs), by its schedule.
  const r = await captured(['replay', 'apic-reload-mini', '--mutate', 'request-mode-read-early', '--schedule', 'AQgAAQEBAgIAGAIGAAIBBgIGAA']);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  const read = lines.findIndex((l) =>
    /^ *\d+\. apic-migrate: kvm_make_all_cpus_request KVM_REQ_APIC_PAGE_RELOAD: vCPU0's mode read, OUTSIDE_GUEST_MODE, before its request bit is set, no smp_mb between$/.test(
      l,
    ),
  );
  const entry = lines.findIndex((l, i) => i > read && /^ *\d+\. vCPU0: VM-entry on root/.test(l));
  const acted = lines.findIndex((l) =>
    /apic-migrate: vCPU0's mode read OUTSIDE_GUEST_MODE before its request bit was set \(the mutant has no smp_mb\)/.test(l),
  );
  assert.ok(read >= 0 && entry > read && acted > entry, lines.join('\n'));
  assert.ok(!lines.some((l) => /a vCPU's mode read/.test(l)), 'the acted line names the vCPU');
});

test("the APIC-access reload's re-request is one line, its kvm_make_request and why (a probe: 'make request KVM_REQ_APIC_PAGE_RELOAD to vCPU0' then 'invalidation in progress: re-request ...', one request on two lines); the exports number the events by the lines still", async () => {
  // check apic-reload-mini --mutate apic-reload-no-retry's counterexample, by its line, on the kernel's protocol: the reload re-requests.
  const ftrace = join(tempDir('mmulab-story-text-'), 'held.txt');
  const r = await captured([
    'replay',
    'apic-reload-mini',
    '--mutate',
    'apic-reload-no-retry',
    '--schedule',
    'AQgAAQEBAgkABwIFAAMCBQAEAA',
    '--without-mutant',
    '--ftrace',
    ftrace,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = story(r.stdout);
  const check = lines.findIndex((l) => /[:;] mmu_invalidate_retry_gfn APIC-access gfn 0xfee00 \(.*\): retry$/.test(l));
  assert.ok(check >= 0, lines.join('\n'));
  const n = check + 2;
  assert.match(
    lines[check + 1]!,
    new RegExp(`^${n}\\. vCPU0: invalidation in progress: re-request KVM_REQ_APIC_PAGE_RELOAD \\(make request to vCPU0, itself\\); read_unlock\\(mmu_lock\\)`),
  );
  assert.ok(!lines.some((l) => /vCPU0: make request KVM_REQ_APIC_PAGE_RELOAD to vCPU0$/.test(l)), lines.join('\n'));
  // The log keeps both records (the model's events are unchanged), at the line's number; the last event at the last line's.
  const at = (name: string) => [...readFileSync(ftrace, 'utf8').matchAll(new RegExp(`^ *vCPU0-\\d+ +\\[000\\] +(\\d+\\.\\d+): ${name}: +vcpu 0 (.*)$`, 'gm'))];
  const micro = (ts: string) => Math.round(Number(ts) * 1e6);
  const self = at('mmulab_make_request');
  assert.equal(self.length, 1);
  assert.equal(micro(self[0]![1]!), n);
  assert.deepEqual(
    at('mmulab_apic_access_reload').map((m) => [micro(m[1]!), m[2]]),
    [[n, 'pfn 1000 retry']],
  );
  assert.equal(micro(at('mmulab_entry_cancelled')[0]![1]!), lines.length);
});
