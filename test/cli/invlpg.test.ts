import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertDefaultCheckExhausts, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-invlpg-');

test('check invlpg-mini (the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('invlpg-mini');
});

test("check invlpg-mini --mutate invlpg-no-remote-flush: vCPU0's INVLPG drops the SPTE of the page it unmapped and flushes its own entry only; the migration's notifier finds no SPTE and returns with vCPU1's TLB still mapping the page (exit 1); replay says the same, exit 1", async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'invlpg-mini', '--mutate', 'invlpg-no-remote-flush', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assert.match(
    lines.at(-1)!,
    /^=> stale-translation \(migrate\): migrate's invalidate_range_start returned, but vCPU1's TLB still maps gfn 0x0 → pfn 0x[0-9a-f]+ with no flush pending$/,
  );
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const exit = at(/vCPU0: VM-exit \(INVLPG gva 0x0\)/);
  const drop = at(/zap SPTE gfn 0x0 \(was pfn 0x[0-9a-f]+\) in sp \d+$/);
  const skipped = at(/no remote flush \(the mutant's/);
  assert.ok(exit >= 0 && exit < drop && drop < skipped, lines.join('\n'));
  assert.match(r.stdout, /mutant invlpg-no-remote-flush acted 1 time in this execution/);
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
});

test('run invlpg-mini --json (seed 1): one INVLPG exit counted (metrics.tlb.invlpg), no violation; a cr3 run carries no invlpg key', async () => {
  const out = join(dir, 'run.json');
  const r = await captured(['run', 'invlpg-mini', '--json', out]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.metrics.tlb.invlpg, 1);
  assert.equal(j.violations.length, 0);
  const out2 = join(dir, 'run2.json');
  const r2 = await captured(['run', 'sync-children-mini', '--json', out2]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal('invlpg' in JSON.parse(readFileSync(out2, 'utf8')).metrics.tlb, false);
});

test("mmio-sync-mini with munmapFlush: invlpg: no re-stamp through the INVLPG (it syncs only the gva it flushes, whose PTE the munmap cleared), so the default check exhausts bound 2 with no violation where the CR3 reload's sync finds stale-mmio", async () => {
  const text = readFileSync(new URL('../../scenarios/mmio-sync-mini.yaml', import.meta.url), 'utf8');
  assert.match(text, /^ {2}munmapNs: 40000$/m);
  const file = join(dir, 'mmio-sync-invlpg.yaml');
  writeFileSync(file, text.replace(/^ {2}munmapNs: 40000$/m, '  munmapNs: 40000\n  munmapFlush: invlpg'));
  const r = await captured(['check', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run/);
  const ftrace = join(dir, 'mmio-sync-invlpg.ftrace');
  const run = await captured(['run', file, '--ftrace', ftrace]);
  assert.equal(run.code, 0, run.stderr);
  const log = readFileSync(ftrace, 'utf8');
  assert.match(log, /kvm_exit: +vcpu 0 reason INVLPG rip 0x0 info1 0x0000000000001000 /);
  assert.match(log, /mmulab_invalidate_addr_sync_spte: vcpu 0 gva 0x1000 root \d+ sp \d+ dropped flush/);
  assert.doesNotMatch(log, /mark_mmio_spte: .* gen 1/);
});
