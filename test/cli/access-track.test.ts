import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertBad, fileIn } from './bad-input-asserts.js';
import { assertDefaultCheckExhausts, assertStoryInOrder, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-access-track-');

test('check age-access-track-mini (eptAdBits=off, the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('age-access-track-mini');
});

test('check age-access-track-mini --mutate age-mark-plain-store: found (exit 1), the mutant acted once; replay prints the same lines, and its ftrace the mark over the zapped leaf', async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'age-access-track-mini', '--mutate', 'age-mark-plain-store', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assertStoryInOrder(lines, [
    /reclaim0\.0: kvm_age_gfn: read SPTE gfn 0x0 → pfn 0x1000 in root 0: present \(no A\/D bits: accessed unless access-tracked\)/,
    /numa1\.0: zap SPTE gfn 0x0 \(was pfn 0x1000\) in root 0/,
    /reclaim0\.0: kvm_age_gfn: mark_spte_for_access_track of SPTE gfn 0x0 in root 0: plain store of pfn 0x1000 as read → pfn 0x1000 access-tracked \(---, not present to the hardware\) over not present, no cmpxchg: the mutant's/,
    /numa1\.0: (?:.*; )?invalidate_range_start returns$/,
  ]);
  assert.match(lines.at(-1)!, /^=> stale-translation \(numa1\.0\): .*root 0 still maps gfn 0x0 → pfn 0x1000 \(access-tracked: not present to the hardware/);
  assert.match(r.stdout, /mutant age-mark-plain-store acted 1 time in this execution/);
  const ftrace = join(dir, 'cex.ftrace');
  const replay = await captured(['replay', cex, '--ftrace', ftrace]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
  // The mark: the value read (rwx) to R and X saved at bit 54, RWX clear, stored over the zapped leaf.
  assert.match(
    readFileSync(ftrace, 'utf8'),
    /kvm_tdp_mmu_spte_changed: as id 0 gfn 0 level 1 old_spte 610000001000877 new_spte 750000001000870\n.*mmulab_age_plain_store: gfn 0 over 8000000000000000\n/,
  );
});

test('age-mark-plain-store: age-vs-numa-mini with --set eptAdBits=off finds it with no warning; without, it warns it may never act', async () => {
  const on = await captured(['check', 'age-vs-numa-mini', '--mutate', 'age-mark-plain-store', '--preemption-bound', '1', '--out', join(dir, 'on.json')]);
  assert.equal(on.code, 0, on.stdout + on.stderr);
  assert.match(on.stderr, /never acted/);
  const off = await captured(['check', 'age-vs-numa-mini', '--set', 'eptAdBits=off', '--mutate', 'age-mark-plain-store', '--out', join(dir, 'off.json')]);
  assert.equal(off.code, 1, off.stdout + off.stderr);
  assert.doesNotMatch(off.stderr, /may never act|never acted/);
});

test('compare page-aging --vary eptAdBits=on,off: access tracking rows (marks, restores by fast_page_fault) only with off; the JSON has aging.accessTrack only there', async () => {
  const s = fileIn(dir, 'short-aging.yaml', readFileSync('scenarios/page-aging.yaml', 'utf8').replace('timeNs: 20000000', 'timeNs: 2000000'));
  const json = join(dir, 'cmp.json');
  const c = await captured(['compare', s, '--vary', 'eptAdBits=on,off', '--json', json]);
  assert.equal(c.code, 0, c.stderr);
  const row = (label: string) => c.stdout.match(new RegExp(`\\n {2}${label} +(\\S+) +(\\S+)\\n`));
  const marked = row('leaves marked for access tracking')!;
  const restored = row('restored by fast_page_fault')!;
  // The EPT A/D bits' column has no access tracking: '-', as a bitmap's column under the ring's rows.
  assert.deepEqual([marked[1], row('marks whose cmpxchg failed')![1], restored[1]], ['-', '-', '-']);
  assert.ok(Number(marked[2]) > 0 && Number(restored[2]) > 0, c.stdout);
  const text = readFileSync(json, 'utf8');
  assert.equal((text.match(/"accessTrack"/g) ?? []).length, 1, 'one variant has it');
  const run = await captured(['run', s]);
  assert.doesNotMatch(run.stdout, /access tracking/);
});

test('bad input: an eptAdBits value it does not take is one line, exit 2; under mmu=shadow it warns that the setting does nothing', async () => {
  assertBad(await captured(['run', 'age-access-track-mini', '--set', 'eptAdBits=maybe']), /eptAdBits expects one of on, off/);
  const r = await captured(['run', 'age-vs-numa-mini', '--set', 'mmu=shadow', '--set', 'eptAdBits=off']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /eptAdBits is read under mmu=tdp only/);
});

test('mmulab list --json: age-mark-plain-store registered with age-access-track-mini, the scenario listed, eptAdBits among the settings (default on)', async () => {
  const r = await captured(['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.mutants.find((m: { name: string }) => m.name === 'age-mark-plain-store')?.scenario, 'age-access-track-mini');
  assert.ok(j.scenarios.some((s: { name: string }) => s.name === 'age-access-track-mini'));
  assert.ok(j.settings.some((s: { key: string; default: string }) => s.key === 'eptAdBits' && s.default === 'on'));
});

test("compare age-access-track-mini --vary mmu=tdp,shadow: access tracking's rows '-' under shadow (no metrics.aging.accessTrack); the inert-setting warning names the variant once", async () => {
  const c = await captured(['compare', 'age-access-track-mini', '--vary', 'mmu=tdp,shadow']);
  assert.equal(c.code, 0, c.stderr);
  for (const label of ['leaves marked for access tracking', 'marks whose cmpxchg failed', 'restored by fast_page_fault'])
    assert.match(c.stdout, new RegExp(`\\n {2}${label} +\\d+ +-\\n`), label);
  assert.match(c.stderr, /^mmulab: warning: eptAdBits is read under mmu=tdp only \(.*\): it does nothing in variant mmu=shadow\n$/);
});

test("age-access-track-mini: the list says its marking and restoring is the checker's race; a run at seed 1 ages before any fault and marks nothing", async () => {
  const list = await captured(['list', '--json']);
  const d = (JSON.parse(list.stdout) as { scenarios: { name: string; description: string }[] }).scenarios.find(
    (x) => x.name === 'age-access-track-mini',
  )!.description;
  assert.match(d, /The marking and restoring race is the checker's \(check\)/);
  const run = await captured(['run', 'age-access-track-mini']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /access tracking: marked \(failed\) \/ restored +0 \(0\) \/ 0\n/);
});
