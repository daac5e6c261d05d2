import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertBad, fileIn } from './bad-input-asserts.js';
import { assertDefaultCheckExhausts, assertStoryInOrder, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-age-');

test('check age-vs-numa-mini (the default check, mmuAging=lockless): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('age-vs-numa-mini');
});

test('check age-vs-numa-mini --set mmuAging=mmu-lock (the older kernels): no violation, exhausted with at most 2 preemptions', async () => {
  const r = await captured(['check', 'age-vs-numa-mini', '--set', 'mmuAging=mmu-lock']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run\n/);
});

test('check age-vs-numa-mini --mutate age-plain-clear: found (exit 1), the mutant acted once; replay prints the same lines, and its ftrace the aging tracepoints', async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'age-vs-numa-mini', '--mutate', 'age-plain-clear', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assertStoryInOrder(lines, [
    /reclaim0\.0: clear_flush_young \[0x[0-9a-f]+,0x[0-9a-f]+\): kvm_age_gfn \(no TLB flush: KVM_ELIDE_TLB_FLUSH_IF_YOUNG\)/,
    /reclaim0\.0: kvm_age_gfn: read SPTE gfn 0x0 → pfn 0x1000 in root 0: Accessed/,
    /numa1\.0: zap SPTE gfn 0x0 \(was pfn 0x1000\) in root 0/,
    /reclaim0\.0: kvm_age_gfn: plain store of SPTE gfn 0x0 → pfn 0x1000 without the Accessed bit over not present, no atomic AND: the mutant's/,
    /reclaim0\.0: folio_referenced \[0x[0-9a-f]+,0x[0-9a-f]+\): young, the page is kept/,
    /numa1\.0: (?:.*; )?invalidate_range_start returns$/,
  ]);
  assert.match(lines.at(-1)!, /^=> stale-translation \(numa1\.0\): .*root 0 .*gfn 0x0 .*pfn 0x1000/);
  assert.match(r.stdout, /mutant age-plain-clear acted 1 time in this execution/);
  const ftrace = join(dir, 'cex.ftrace');
  const replay = await captured(['replay', cex, '--ftrace', ftrace]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
  const log = readFileSync(ftrace, 'utf8');
  assert.match(log, /kvm_age_hva: +mmu notifier age hva: 0x[0-9a-f]{14} -- 0x[0-9a-f]{14}\n/);
  assert.match(log, /mmulab_age_spte_read: root 0 gfn 0 pfn 1000 young 1\n/);
  // The mutant's store: the value read less the A bit (0x100), over a leaf the zap cleared.
  assert.match(
    log,
    /kvm_tdp_mmu_spte_changed: as id 0 gfn 0 level 1 old_spte 600000001000b77 new_spte 600000001000a77\n.*mmulab_age_plain_store: gfn 0 over 8000000000000000\n/,
  );
});

test('run page-aging --json, --trace and --report: metrics.aging in the JSON, the table and the HTML report, a Perfetto instant per folio_referenced', async () => {
  const out = join(dir, 'run.json');
  const trace = join(dir, 'run.trace.json');
  const html = join(dir, 'run.html');
  const s = fileIn(dir, 'short-aging.yaml', readFileSync('scenarios/page-aging.yaml', 'utf8').replace('timeNs: 20000000', 'timeNs: 1000000'));
  const r = await captured(['run', s, '--json', out, '--trace', trace, '--report', html]);
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(readFileSync(out, 'utf8')).metrics.aging as { aged: number; young: number; old: number };
  assert.ok(a.young > 0 && a.old > 0, JSON.stringify(a));
  assert.match(r.stdout, new RegExp(`\\nreclaim aging: folio_referenced young / old +${a.young} / ${a.old} of ${a.aged}\\n`));
  const instants = (JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { ph: string; args?: Record<string, unknown> }[] }).traceEvents.filter(
    (t) => t.ph === 'i' && t.args?.event === 'folioReferenced',
  );
  assert.equal(instants.length, a.aged);
  const page = readFileSync(html, 'utf8');
  for (const [key, value] of Object.entries(a)) assert.match(page, new RegExp(`data-metric="aging\\.${key}" data-value="${value}"`));
});

test('compare page-aging --vary mmuAging: the aging rows, and fewer mmu_lock write acquisitions lockless; no aging rows where no reclaim ages', async () => {
  const s = fileIn(dir, 'short-aging-2.yaml', readFileSync('scenarios/page-aging.yaml', 'utf8').replace('timeNs: 20000000', 'timeNs: 1000000'));
  const c = await captured(['compare', s, '--vary', 'mmuAging=lockless,mmu-lock']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /\nreclaim aging \(folio_referenced\) +\d+ +\d+\n {2}young: page kept +\d+ +\d+\n {2}old: page reclaimed +\d+ +\d+\n/);
  const writes = c.stdout.match(/\nmmu_lock write acq +(\d+) +(\d+)\n/)!;
  assert.ok(Number(writes[1]) < Number(writes[2]), writes[0]);
  const plain = await captured(['compare', 'fault-vs-invalidation-mini', '--vary', 'faultPrecheck=off,lockless']);
  assert.doesNotMatch(plain.stdout, /aging/);
});

test('the folio lock: the mini with a migration in place of NUMA balancing (migrate_folio_unmap locks the folio the aging reclaim holds) never lets the mutant act, at most 1 preemption; with NUMA balancing (no folio lock) it is found there', async () => {
  const mini = readFileSync('scenarios/age-vs-numa-mini.yaml', 'utf8');
  const withMigrate = fileIn(dir, 'age-migrate.yaml', mini.replace('{ kind: numa, count: 1', '{ kind: migrate, count: 1'));
  const m = await captured(['check', withMigrate, '--mutate', 'age-plain-clear', '--preemption-bound', '1', '--out', join(dir, 'no-cex.json')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.match(m.stderr, /never acted/);
  const n = await captured(['check', 'age-vs-numa-mini', '--mutate', 'age-plain-clear', '--preemption-bound', '1', '--out', join(dir, 'numa-cex.json')]);
  assert.equal(n.code, 1, n.stdout + n.stderr);
  assert.match(n.stdout, /mutant age-plain-clear acted 1 time/);
});

test('compare page-aging --set mmu=shadow --vary mmuAging: the shadow MMU reads the setting (no warning), and its rmap walk takes no mmu_lock lockless', async () => {
  const s = fileIn(dir, 'short-aging-3.yaml', readFileSync('scenarios/page-aging.yaml', 'utf8').replace('timeNs: 20000000', 'timeNs: 1000000'));
  const c = await captured(['compare', s, '--set', 'mmu=shadow', '--vary', 'mmuAging=lockless,mmu-lock']);
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(c.stderr, /mmuAging/);
  const writes = c.stdout.match(/\nmmu_lock write acq +(\d+) +(\d+)\n/)!;
  assert.ok(Number(writes[1]) < Number(writes[2]), writes[0]);
});

test('bad input: age on an invalidation that is no reclaim, age not a boolean, a mmuAging value it does not take: one line naming the file and the field, exit 2', async () => {
  const mini = readFileSync('scenarios/age-vs-numa-mini.yaml', 'utf8');
  const onNuma = fileIn(dir, 'age-numa.yaml', mini.replace('{ kind: numa, count: 1', '{ kind: numa, age: true, count: 1'));
  assertBad(
    await captured(['run', onNuma]),
    /age-numa\.yaml:\d+:\d+ host\.invalidations\[1\]\.age: only a reclaim ages its pages first \(folio_referenced\); this is a numa: expected kind reclaim, or no age$/,
  );
  const word = fileIn(dir, 'age-word.yaml', mini.replace('age: true', 'age: yes'));
  assertBad(await captured(['check', word]), /age-word\.yaml:\d+:\d+ host\.invalidations\[0\]\.age: expected a boolean/);
  assertBad(await captured(['run', 'age-vs-numa-mini', '--set', 'mmuAging=atomic']), /mmuAging/);
});

test('mmulab list --json: age-plain-clear registered with age-vs-numa-mini, both aging scenarios listed, mmuAging among the settings (default lockless)', async () => {
  const r = await captured(['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.mutants.find((m: { name: string }) => m.name === 'age-plain-clear')?.scenario, 'age-vs-numa-mini');
  for (const name of ['age-vs-numa-mini', 'page-aging'])
    assert.ok(
      j.scenarios.some((s: { name: string }) => s.name === name),
      name,
    );
  assert.ok(j.settings.some((s: { key: string; default: string }) => s.key === 'mmuAging' && s.default === 'lockless'));
});
