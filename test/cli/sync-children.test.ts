import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertBad, fileIn } from './bad-input-asserts.js';
import { assertDefaultCheckExhausts, captured, story } from './captured-cli.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-sync-children-');

test('check sync-children-mini (the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('sync-children-mini');
});

test('check sync-children-mini --mutate sync-children-yield-without-flush: the sync drops the SPTE, breaks the lock with its flush pending, the notifier finds nothing to zap and returns with the other vCPU still mapping the page in its TLB (exit 1); replay says the same, exit 1', async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'sync-children-mini', '--mutate', 'sync-children-yield-without-flush', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assert.match(
    lines.at(-1)!,
    /^=> stale-translation \(migrate\): migrate's invalidate_range_start returned, but vCPU\d's TLB still maps gfn 0x0 → pfn 0x[0-9a-f]+ with no flush pending$/,
  );
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const munmap = at(/: guest: process \d+ cleared the PTE of gva 0x0 \(munmap\)/);
  const drop = at(/: zap SPTE gfn 0x0 \(was pfn 0x[0-9a-f]+\) in sp \d+$/);
  const brk = at(/: mmu_sync_children: mmu_lock contended, drop and re-take/);
  const ret = at(/^ *\d+\. migrate: invalidate_range_start returns$/);
  assert.ok(munmap >= 0 && munmap < drop && drop < brk && brk < ret, lines.join('\n'));
  // No flush between the drop and the break: the line there says the mutant left it out.
  assert.ok(!lines.slice(drop, brk).some((l) => /kvm_flush_remote_tlbs/.test(l) && !/\(the mutant/.test(l)), 'no flush between the drop and the break');
  assert.ok(
    lines
      .slice(drop, brk)
      .some((l) => /: no kvm_flush_remote_tlbs before the lock break for the SPTEs dropped \(the mutant leaves the flush for the end\)$/.test(l)),
    'where the mutant acted',
  );
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
});

test("check sync-children-mini --mutate sync-children-wp-no-flush: a vCPU's munmap write puts its process's level-1 table in its TLB writable; the other vCPU's sync write-protects the table and reads it with the flush left for the batch's end, while the first vCPU's TLB still maps the table writable (exit 1); replay says the same, exit 1", async () => {
  const cex = join(dir, 'wp-cex.json');
  const r = await captured(['check', 'sync-children-mini', '--mutate', 'sync-children-wp-no-flush', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  const last =
    /^=> stale-translation \(vCPU(\d)\): mmu_sync_children write-protected gfn 0x8000403, a guest page table, but vCPU(\d)'s TLB still maps it writable \(pfn 0x[0-9a-f]+\) with no flush pending: a guest write to the table would not trap$/.exec(
      lines.at(-1)!,
    );
  assert.ok(last !== null && last[1] !== last[2], lines.at(-1));
  const writer = `vCPU${last[2]}`;
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const write = at(new RegExp(`^ *\\d+\\. ${writer}: guest write gfn 0x8000403 → pfn 0x[0-9a-f]+ \\(via SPTE walk\\)$`));
  const wp = at(/: mmu_sync_children: gfn 0x8000403 write-protected, not flushed \(the mutant's\): /);
  assert.ok(write >= 0 && write < wp && wp === lines.length - 2, lines.join('\n'));
  assert.ok(!lines.slice(write, wp).some((l) => /flush TLB|kvm_flush_remote_tlbs/.test(l)), 'no flush between the table write and the sync');
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
  // The traces show the write protection too (it had neither an ftrace line nor a Perfetto instant: a probe).
  const ftrace = join(dir, 'wp.ftrace');
  const trace = join(dir, 'wp.trace.json');
  assert.equal((await captured(['replay', cex, '--ftrace', ftrace, '--trace', trace])).code, 1);
  assert.match(readFileSync(ftrace, 'utf8'), / mmulab_write_protect_gfn: gfn 8000403 by mmu_sync_children flush skipped\n/);
  const instants = (JSON.parse(readFileSync(trace, 'utf8')).traceEvents as { ph: string; name: string; args?: { text?: string } }[]).filter(
    (e) => e.ph === 'i',
  );
  assert.ok(
    instants.some((e) => e.name === 'gfn write-protected' && /^mmu_sync_children: gfn 0x8000403 write-protected, not flushed/.test(e.args?.text ?? '')),
  );
});

test('bad input: workload.munmapNs that is not a duration is refused on one line naming the file and field (exit 2)', async () => {
  const f = fileIn(
    dir,
    'munmap-negative.yaml',
    'vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 16 }] }\nworkload: { gfnCount: 2, accesses: 2, munmapNs: -5 }\nsettings: { mmu: shadow }\n',
  );
  assertBad(await cli('run', f), /^mmulab: \S*munmap-negative\.yaml:2:\d+ workload\.munmapNs: /);
  const g = fileIn(
    dir,
    'munmap-type.yaml',
    'vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 16 }] }\nworkload: { gfnCount: 2 }\nvcpuWorkloads: [{ munmapNs: soon }]\nsettings: { mmu: shadow }\n',
  );
  assertBad(await cli('run', g), /^mmulab: \S*munmap-type\.yaml:3:\d+ vcpuWorkloads\[0\]\.munmapNs: expected a number/);
});
