import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertDefaultCheckExhausts, assertStoryInOrder, captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-dirty-ring-');

test('check dirty-ring-mini (the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('dirty-ring-mini');
});

/** What each mutant's counterexample shows, in order, up to the lost write. */
const STORIES: Record<string, RegExp[]> = {
  'dirty-ring-reset-no-flush': [
    /mark_page_dirty_in_slot → kvm_dirty_ring_push: gfn (0x[0-9a-f]+) into vCPU\d's dirty ring/,
    /VMM collects vCPU\d's dirty ring \(collection #\d+[^)]*\): gfns [0-9a-fx, ]+ recorded, their entries' flags set RESET/,
    /KVM_RESET_DIRTY_RINGS \(after collection #\d+\): kvm_reset_dirty_gfn write-protects vCPU\d's harvested gfns/,
    /KVM_RESET_DIRTY_RINGS \(after collection #\d+\) returns: \d+ entr(?:y|ies) reset, with no kvm_flush_remote_tlbs \(the mutant's\)/,
    /VMM's migration bitmap sync \(after collection #\d+\): collected gfns [0-9a-fx, ]+ become pages to copy/,
    /VMM copies gfn 0x[0-9a-f]+ \(collected from the dirty rings, copy round #\d+\)/,
    // The lost write: through the TLB, or the walk its access made before the write protection.
    /guest write gfn 0x[0-9a-f]+ → pfn 0x[0-9a-f]+ \(via (?:TLB|the SPTE walk it made above)\)/,
  ],
  'dirty-ring-copy-before-reset': [
    /mark_page_dirty_in_slot → kvm_dirty_ring_push: gfn 0x[0-9a-f]+ into vCPU\d's dirty ring/,
    /VMM collects vCPU\d's dirty ring \(collection #\d+\): gfns [0-9a-fx, ]+ recorded, their entries' flags set RESET/,
    /the VMM copies the pages it collected before KVM_RESET_DIRTY_RINGS \(the mutant's order\)/,
    /VMM copies gfn 0x[0-9a-f]+ \(collected from the dirty rings, copy round #\d+\)/,
    // A vCPU back from its ring-full exit, the reset having made room: the request is cleared, and the vCPU enters.
    /kvm_dirty_ring_check_request: KVM_REQ_DIRTY_RING_SOFT_FULL cleared, a reset made room \(the ring no longer soft full, \d+ entr(?:y|ies) used\): no exit/,
    /guest write gfn 0x[0-9a-f]+ → pfn 0x[0-9a-f]+ \(via (?:TLB|the SPTE walk it made above)\)/,
    /KVM_RESET_DIRTY_RINGS: gfn 0x[0-9a-f]+ leaf write-protected/,
  ],
  'dirty-ring-no-soft-full-exit': [
    /kvm_dirty_ring_push: gfn 0x[0-9a-f]+ into vCPU\d's dirty ring, index 1 \(entry 1 of 2\), flags DIRTY; the ring is soft full: KVM_REQ_DIRTY_RING_SOFT_FULL/,
    /kvm_dirty_ring_check_request: the ring is soft full, but the vCPU enters the guest \(the mutant's: no KVM_EXIT_DIRTY_RING_FULL\)/,
    // The free-running index 2 is the 2-entry ring's entry 0; a push onto a full ring is where the kernel WARNs.
    /kvm_dirty_ring_push: gfn 0x[0-9a-f]+ into vCPU\d's dirty ring, index 2 \(entry 0 of 2\), flags DIRTY \(the ring was full: the kernel WARNs here, kvm_dirty_ring_full; it overwrites the uncollected entry of gfn 0x[0-9a-f]+\)/,
  ],
};

const LOST =
  /^=> lost-dirty-write \(vCPU\d\): vCPU\d wrote gfn 0x[0-9a-f]+ through its (?:TLB|SPTEs) and reached pfn 0x[0-9a-f]+ (?:without a fault|after a fault that pushed the page to its dirty ring), the VMM's last copy of the page coming before it \(.*\), and by the end no dirty ring holds gfn 0x[0-9a-f]+ uncollected(?: \(vCPU\d's push of gfn 0x[0-9a-f]+ onto its full ring overwrote gfn 0x[0-9a-f]+'s entry, not yet collected\))?, with no copy or mark of it still to come: no collection will report this write, and the migrated copy lacks it(?: \(vCPU\d's TLB entry still allowed writes\))?$/;

for (const [mutant, shows] of Object.entries(STORIES)) {
  const mmus = mutant === 'dirty-ring-no-soft-full-exit' ? (['tdp', 'shadow'] as const) : (['tdp'] as const);
  for (const mmu of mmus) {
    test(`check dirty-ring-mini --set mmu=${mmu} --mutate ${mutant}: a guest write after the VMM's last copy of its page is reported by no ring (lost-dirty-write, exit 1); replay prints the same lines`, async () => {
      const cex = join(dir, `${mmu}-${mutant}.json`);
      const r = await captured(['check', 'dirty-ring-mini', '--set', `mmu=${mmu}`, '--mutate', mutant, '--out', cex]);
      assert.equal(r.code, 1, r.stderr);
      const lines = story(r.stdout);
      assert.match(lines.at(-1)!, LOST);
      // The violation names the overwritten entry where a full ring's push lost it, and only there.
      assert.equal(
        / overwrote gfn (0x[0-9a-f]+)'s entry/.exec(lines.at(-1)!)?.[1],
        mutant === 'dirty-ring-no-soft-full-exit' ? / wrote gfn (0x[0-9a-f]+) /.exec(lines.at(-1)!)![1] : undefined,
      );
      // Judged at the end of the run: no copy of the lost page, and no push of it, after the last step shown.
      const gfn = / wrote gfn (0x[0-9a-f]+) /.exec(lines.at(-1)!)![1]!;
      assertStoryInOrder(lines, shows, { none: new RegExp(`VMM copies gfn ${gfn} |kvm_dirty_ring_push: gfn ${gfn} `) });
      assert.match(r.stdout, new RegExp(`mutant ${mutant} acted \\d+ times? in this execution`));
      const replay = await captured(['replay', cex]);
      assert.equal(replay.code, 1, replay.stderr);
      assert.deepEqual(story(replay.stdout), lines);
    });
  }
}

test('run dirty-ring-mini --json --ftrace --trace (seed 1): metrics.dirtyLog.ring counts pushes, exits, collections, resets and copies; the run table has its rows; the trace has kvm_dirty_ring_push/exit/reset and mmulab_* collection lines, and a Perfetto instant per ring event', async () => {
  const json = join(dir, 'run.json');
  const ftrace = join(dir, 'run.ftrace');
  const trace = join(dir, 'run.trace.json');
  const r = await captured(['run', 'dirty-ring-mini', '--json', json, '--ftrace', ftrace, '--trace', trace]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(json, 'utf8'));
  assert.deepEqual(j.metrics.dirtyLog.ring, { pushes: 12, fullExits: 4, collections: 6, pagesCollected: 10, resets: 3, entriesReset: 10 });
  assert.equal(j.metrics.dirtyLog.pagesCopied, 14);
  assert.match(r.stdout, /ring pushes, KVM_EXIT_DIRTY_RING_FULL exits +12, 4\n/);
  assert.match(r.stdout, /KVM_RESET_DIRTY_RINGS calls, entries reset +3, 10\n/);
  const text = readFileSync(ftrace, 'utf8');
  for (const point of [
    'kvm_dirty_ring_push',
    'kvm_dirty_ring_exit',
    'kvm_dirty_ring_reset',
    'mmulab_dirty_ring_collect',
    'mmulab_dirty_ring_sync',
    'mmulab_reset_dirty_rings',
    'mmulab_reset_dirty_gfn',
  ])
    assert.match(text, new RegExp(`: ${point}: `), point);
  // The kernel's tracepoints in its formats: the reset's once per ring and KVM_RESET_DIRTY_RINGS (two rings: two lines a call), after the ring's last mask.
  const lines = (point: string) => text.split('\n').filter((l) => l.includes(`: ${point}: `));
  for (const l of lines('kvm_dirty_ring_push'))
    assert.match(l, /: kvm_dirty_ring_push: +ring \d: dirty 0x[0-9a-f]+ reset 0x[0-9a-f]+ slot 0 offset 0x[0-9a-f]+ \(used \d+ soft [01]\)$/);
  for (const l of lines('kvm_dirty_ring_exit')) assert.match(l, /: kvm_dirty_ring_exit: +vcpu \d$/);
  const calls = lines('mmulab_reset_dirty_rings').length;
  assert.ok(calls >= 2, `${calls} KVM_RESET_DIRTY_RINGS calls`);
  assert.equal(lines('kvm_dirty_ring_reset').length, 2 * calls, 'one line per ring and call');
  for (const l of lines('kvm_dirty_ring_reset')) assert.match(l, /: kvm_dirty_ring_reset: +ring \d: dirty 0x[0-9a-f]+ reset 0x[0-9a-f]+ \(used \d+\)$/);
  const order = text.split('\n').filter((l) => /: (kvm_dirty_ring_reset|mmulab_reset_dirty_gfn|mmulab_reset_dirty_rings): /.test(l));
  for (const [i, l] of order.entries())
    if (l.includes('mmulab_reset_dirty_rings')) assert.match(order[i - 1]!, /kvm_dirty_ring_reset: +ring 1:/, 'the last ring reset before the call returns');
  assert.match(text, /: kvm_dirty_ring_push: +ring 0: dirty 0x5 reset 0x3 slot 0 offset 0x2 \(used 2 soft 1\)\n/);
  // What each instant says is its text arg (its name is its kind's).
  const instants = (JSON.parse(readFileSync(trace, 'utf8')).traceEvents as { ph: string; args?: { text?: string } }[])
    .filter((e) => e.ph === 'i')
    .map((e) => e.args?.text ?? '');
  for (const what of [
    'kvm_dirty_ring_push',
    'KVM_EXIT_DIRTY_RING_FULL',
    'VMM collects',
    'migration bitmap sync',
    'KVM_RESET_DIRTY_RINGS (after collection #1) returns',
  ])
    assert.ok(
      instants.some((n) => n.includes(what)),
      what,
    );
});

test('run with host.dirtyLog.mode: rings: one line naming the file and the field, exit 2; protect with mode ring, likewise', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    'vm:\n  vcpus: 1\n  memslots: [{ id: 0, baseGfn: 0, pages: 1 }]\nworkload: { gfnCount: 1 }\nhost:\n  dirtyLog: { slot: 0, mode: rings }\n',
  );
  const r = await captured(['run', file]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `mmulab: ${file}:6:30 host.dirtyLog.mode: expected one of "bitmap", "ring"\n`);
  writeFileSync(
    file,
    'vm:\n  vcpus: 1\n  memslots: [{ id: 0, baseGfn: 0, pages: 1 }]\nworkload: { gfnCount: 1 }\nhost:\n  dirtyLog: { slot: 0, mode: ring, protect: get }\n',
  );
  const p = await captured(['run', file]);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /^mmulab: .*:6:\d+ host\.dirtyLog\.protect: not taken with mode ring; expected no protect/);
  assert.equal(p.stderr.split('\n').length, 2, 'one line');
});

test("dirty-ring-mini's description says the gfns in the order the vCPUs write them (vCPU1: 4, 5, 3), as the ftrace's pushes have them", async () => {
  const ftrace = join(dir, 'order.ftrace');
  const r = await captured(['run', 'dirty-ring-mini', '--ftrace', ftrace]);
  assert.equal(r.code, 0, r.stderr);
  const offsets = (ring: number) =>
    [...readFileSync(ftrace, 'utf8').matchAll(new RegExp(`kvm_dirty_ring_push: +ring ${ring}: .* offset 0x([0-9a-f]+) `, 'g'))].map((m) =>
      Number.parseInt(m[1]!, 16),
    );
  // In the order first written (a page written again after a reset is pushed again).
  const firsts = (ring: number) => [...new Set(offsets(ring))];
  assert.deepEqual(firsts(0), [0, 1, 2]);
  assert.deepEqual(firsts(1), [4, 5, 3]);
  const list = await captured(['list', '--json']);
  const d = (JSON.parse(list.stdout) as { scenarios: { name: string; description: string }[] }).scenarios.find(
    (s) => s.name === 'dirty-ring-mini',
  )!.description;
  assert.match(d, /vCPU0 gfns 0, 1, 2, vCPU1 gfns 4, 5, 3/);
});
