import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventStamp, KvmEvent } from '../../src/kvm/events.js';
import { StepLog } from '../../src/oracle/step-log.js';
import { FtraceSink } from '../../src/report/ftrace.js';
import type { KvmInstance } from '../../src/scenario/instantiate.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { type Attachable, runWith, shortScenario } from './fixtures.js';

/** The step log of a simulated run (no mmu_lock notes: the events' own lines). */
class Logged implements Attachable {
  log: StepLog | null = null;
  attach(inst: KvmInstance): void {
    this.log = new StepLog(inst.violations);
  }
  on(ev: KvmEvent, at: EventStamp): void {
    this.log!.on(ev, at);
  }
  get texts(): string[] {
    return this.log!.lines.map((l) => l.text);
  }
}

/** A run's ftrace lines (no header) and step-log texts. */
function traced(name: string, timeNs: number, seed = 1) {
  const s = shortScenario(name, timeNs);
  const ftrace = new FtraceSink();
  const logged = new Logged();
  const result = runWith(s, [ftrace, logged], { seed });
  const lines = [...ftrace.render()]
    .join('')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('cpus='));
  return { result, lines, steps: logged.texts };
}

/** The tracepoint of an ftrace line and its fields. */
function tp(line: string): [string, string] {
  const m = /\] +\d+\.\d{9}: (\w+): +(.*)$/.exec(line);
  assert.ok(m, `not a trace-cmd line: ${line}`);
  return [m[1]!, m[2]!];
}

/** What the step log says of sp 3 (gfn 0x8000403, level 1) in sync-children-mini. */
const UNSYNC_STEP = /^kvm_unsync_page: sp 3 gfn 0x8000403 level 1 unsync, its gfn mapped writable$/;
const SYNC_STEP =
  /^mmu_sync_children: kvm_unlink_unsync_page sp 3 gfn 0x8000403 level 1 below root 0 \(its gfn write-protected\), then kvm_sync_page rebuilds it from the guest table$/;

test("ftrace under shadow paging (sync-children-mini, seed 1): kvm_mmu_unsync_page when the guest's write to its level-1 table makes the table's page unsync, kvm_mmu_sync_page when the CR3 reload's mmu_sync_children marks it sync, each with the page's sp gen/gfn/level as the kernel prints it, sync before and unsync after as sp->unsync is when traced (a probe: both were notes in the step log only)", () => {
  const { lines, steps } = traced('sync-children-mini', 100_000_000);
  const page = lines.map(tp).filter(([name]) => name === 'kvm_mmu_unsync_page' || name === 'kvm_mmu_sync_page');
  // Unsync at the guest's first write to the table, synced at the munmap's CR3 reload,
  // unsync again when the guest's #PF handler writes the PTE back.
  assert.deepEqual(page, [
    ['kvm_mmu_unsync_page', 'sp gen 0 gfn 8000403 l1 8-byte q0 wux nxe ad root 0 sync'],
    ['kvm_mmu_sync_page', 'sp gen 0 gfn 8000403 l1 8-byte q0 wux nxe ad root 0 unsync'],
    ['kvm_mmu_unsync_page', 'sp gen 0 gfn 8000403 l1 8-byte q0 wux nxe ad root 0 sync'],
  ]);
  // The step log says the same of the same page, in the same order.
  assert.ok(steps.includes('kvm_mmu_get_child_sp (from FNAME(fetch)): sp 3 gfn 0x8000403 level 1 gen 0'), 'sp 3 shadows the level-1 table at gfn 0x8000403');
  const said = steps.filter((t) => UNSYNC_STEP.test(t) || SYNC_STEP.test(t)).map((t) => (UNSYNC_STEP.test(t) ? 'unsync' : 'sync'));
  assert.deepEqual(said, ['unsync', 'sync', 'unsync']);
  assert.ok(!steps.some((t) => /^mmu_sync_children: sp \d+ .* synced below root/.test(t)), 'no note says it any more');

  // The order around the sync, in both: the CR3 write's exit, kvm_unlink_unsync_page, then kvm_sync_page's drop of gfn 0's SPTE.
  const at = (name: string, fields: RegExp = /./) => lines.findIndex((l) => tp(l)[0] === name && fields.test(tp(l)[1]));
  const cr = at('kvm_exit', / reason CR_ACCESS /);
  const sync = at('kvm_mmu_sync_page');
  const drop = at('mmulab_drop_spte', /^gfn 0 /);
  assert.ok(cr >= 0 && cr < sync && sync < drop, lines.join('\n'));
  const step = (re: RegExp) => steps.findIndex((t) => re.test(t));
  const cr3 = step(/^VM-exit \(CR3 write\)$/);
  const unlink = step(SYNC_STEP);
  const zap = step(/^zap SPTE gfn 0x0 \(was pfn 0x[0-9a-f]+\) in sp 3$/);
  assert.ok(cr3 >= 0 && cr3 < unlink && unlink < zap, steps.join('\n'));
  // kvm_unsync_page comes before the SPTE that maps the table writable (make_spte asks mmu_try_to_unsync_pages first).
  const unsync = at('kvm_mmu_unsync_page');
  assert.match(lines[unsync + 1]!, / kvm_mmu_set_spte: +gfn 8000403 spte [0-9a-f]+e63 \(rwx-\) level 1 at [0-9a-f]+018$/);
});

test("ftrace: a reload of the CR3 a vCPU has (sync-children-mini's munmap flushes its TLB so) is handle_cr's kvm_cr line and no other: kvm_set_cr3 calls no kvm_mmu_new_pgd for it and kvm_invalidate_pcid has no tracepoint; the step log says so in the kernel's terms, and the model keeps its roots as they are (a probe: it said kvm_mmu_new_pgd, and ran it)", () => {
  const { lines, steps } = traced('sync-children-mini', 100_000_000);
  const exit = lines.findIndex((l) => l.includes(' reason CR_ACCESS '));
  assert.ok(exit >= 0, 'a CR3 write');
  assert.deepEqual(tp(lines[exit + 1]!), ['kvm_cr', 'cr_write 3 = 0x8000400000']);
  assert.equal(lines.filter((l) => tp(l)[0] === 'kvm_cr').length, 1, 'one CR3 write in the run');
  assert.ok(!lines.some((l) => /new_pgd|invalidate_pcid|set_cr3/.test(l)), 'no tracepoint the kernel lacks');
  const reload = steps.filter((t) => t.startsWith('kvm_set_cr3: '));
  assert.deepEqual(reload, [
    'kvm_set_cr3: CR3 0x8000400000 again (the value loaded): no kvm_mmu_new_pgd, root sp 0 stays; kvm_invalidate_pcid(0) (KVM_REQ_MMU_SYNC, KVM_REQ_TLB_FLUSH_CURRENT)',
  ]);
  assert.ok(!steps.some((t) => t.startsWith('kvm_mmu_new_pgd ')), steps.join('\n'));
  // Nor does the model switch roots for it: no KVM_REQ_LOAD_MMU_PGD (the model made one until 2026-12-06).
  assert.ok(!steps.some((t) => t.includes('KVM_REQ_LOAD_MMU_PGD')), steps.join('\n'));
});

test("ftrace: a switch to another CR3 (cached-roots-mini, seed 1) is a kvm_cr line with the new CR3 after each CR_ACCESS exit; the step log has kvm_set_cr3 with the old and new CR3, then kvm_mmu_new_pgd, each CR3 the value kvm_cr prints (the PGD's address; a probe: the step log printed its gfn, 0x8000401 for cr_write 3 = 0x8000401000)", () => {
  const { lines, steps } = traced('cached-roots-mini', 100_000_000);
  const exits = lines.flatMap((l, i) => (l.includes(' reason CR_ACCESS ') ? [i] : []));
  assert.ok(exits.length > 2, `${exits.length} CR3 writes`);
  const values = exits.map((i) => tp(lines[i + 1]!));
  for (const [name, fields] of values) {
    assert.equal(name, 'kvm_cr');
    assert.match(fields, /^cr_write 3 = 0x800040[01]000$/);
  }
  const switches = steps.flatMap((t, i) => (t.startsWith('kvm_set_cr3: ') ? [i] : []));
  assert.equal(switches.length, exits.length);
  for (const [k, i] of switches.entries()) {
    const m = /^kvm_set_cr3: CR3 0x([0-9a-f]+) → 0x([0-9a-f]+): kvm_mmu_new_pgd, then kvm_invalidate_pcid\(0\)/.exec(steps[i]!);
    assert.ok(m, steps[i]);
    assert.notEqual(m[1], m[2]);
    assert.equal(`cr_write 3 = 0x${m[2]}`, values[k]![1], 'the value kvm_cr printed');
    const next = steps.slice(i + 1).find((t) => t.startsWith('kvm_mmu_new_pgd '));
    assert.ok(next?.startsWith(`kvm_mmu_new_pgd CR3 0x${m[2]}: `), `${steps[i]}\nthen ${next}`);
  }
});

test("ftrace under shadow paging (root-zap-on-process-exit, seed 1, 5 ms): each level-1 page goes sync → unsync → sync as the kvm_mmu_page lines print it; a page zapped while unsync prints unsync in kvm_mmu_prepare_zap_page, then kvm_mmu_sync_page (__kvm_mmu_prepare_zap_page marks it sync after it zaps it); a lookup's hit is kvm_mmu_get_page ... existing, an unsync page it syncs printing unsync (it stays so), as the kernel traces", () => {
  const { lines, result } = traced('root-zap-on-process-exit', 5_000_000);
  assert.deepEqual(result.violations, []);
  /** Per generation and gfn of a level-1 page: whether it is unsync, as the lines so far say. */
  const unsync = new Map<string, boolean>();
  /** Per thread: the gfn of a page it zapped while unsync, whose kvm_mmu_sync_page is still to come. */
  const zapping = new Map<string, string>();
  const seen = { unsync: 0, sync: 0, zappedUnsync: 0, foundUnsync: 0 };
  for (const l of lines) {
    const [name, fields] = tp(l);
    const m = /^sp gen (\d+) gfn ([0-9a-f]+) l(\d) 8-byte q0 wux nxe ad root (\d+) (sync|unsync)( new| existing)?$/.exec(fields);
    if (m === null) continue;
    const [, gen, pageGfn, level, root, state, how] = m as unknown as [string, string, string, string, string, string, string | undefined];
    const gfn = `${pageGfn} (gen ${gen})`;
    const comm = l.trim().split(' ')[0]!;
    if (level !== '1') {
      assert.equal(state, 'sync', `only level-1 pages go unsync: ${l}`);
      continue;
    }
    assert.equal(root, '0', `a level-1 page is no root: ${l}`);
    const was = unsync.get(gfn) ?? false;
    switch (name) {
      case 'kvm_mmu_get_page':
        if (how === ' existing') {
          // A lookup's hit prints the page as it is: one the lookup synced stays unsync.
          assert.equal(state === 'unsync', was, `a found page prints its state: ${l}`);
          if (was) seen.foundUnsync++;
          break;
        }
        assert.equal(state, 'sync', l);
        assert.equal(was, false, `a new page of gfn ${gfn} while the last one is unsync: ${l}`);
        break;
      case 'kvm_mmu_unsync_page':
        assert.equal(state, 'sync', l);
        assert.equal(was, false, `unsync twice: ${l}`);
        unsync.set(gfn, true);
        seen.unsync++;
        break;
      case 'kvm_mmu_sync_page':
        assert.equal(state, 'unsync', l);
        assert.equal(was, true, `synced while sync: ${l}`);
        unsync.set(gfn, false);
        if (zapping.get(comm) === gfn) zapping.delete(comm);
        seen.sync++;
        break;
      case 'kvm_mmu_prepare_zap_page':
        assert.equal(state === 'unsync', was, `the zap prints the page's state: ${l}`);
        assert.equal(zapping.has(comm), false, `${comm} zaps again before the last unsync page it zapped was marked sync: ${l}`);
        if (was) {
          zapping.set(comm, gfn);
          seen.zappedUnsync++;
        }
        break;
      default:
        assert.fail(`a tracepoint that prints no kvm_mmu_page: ${l}`);
    }
  }
  assert.equal(zapping.size, 0, `zapped unsync, never marked sync: ${[...zapping.values()]}`);
  assert.ok(seen.unsync > 50 && seen.sync > 50 && seen.zappedUnsync > 0 && seen.foundUnsync > 0, JSON.stringify(seen));
});

test('ftrace: a root zapped in use is traced by kvm_mmu_prepare_zap_page a second time, role invalid, root 0, when its last reference goes, as mmu_free_root_page zaps it again (root-zap-on-process-exit, seed 1, 5 ms; a probe: the second was missing)', () => {
  const { lines, result } = traced('root-zap-on-process-exit', 5_000_000);
  const zapped = new Set<string>();
  let again = 0;
  for (const l of lines) {
    const [name, fields] = tp(l);
    if (name !== 'kvm_mmu_prepare_zap_page') continue;
    const m = /^sp gen (\d+) gfn ([0-9a-f]+) l(\d) 8-byte q0 wux( invalid)? nxe ad root (\d+) (?:sync|unsync)$/.exec(fields);
    assert.ok(m, l);
    const key = `${m[1]} ${m[2]} ${m[3]}`;
    if (m[4] === undefined) {
      if (m[5] !== '0') zapped.add(key);
      continue;
    }
    assert.equal(m[5], '0', `the last reference is gone: ${l}`);
    assert.ok(zapped.delete(key), `zapped in use first: ${l}`);
    again++;
  }
  assert.ok(again > 10, `${again} roots traced again`);
  assert.ok(again <= result.metrics.roots.zappedInUse);
});

// Regression (a probe): the CR3 exit handler synced the root and flushed the TLB itself, before the
// next vcpu_enter_guest freed the obsolete roots; kvm_invalidate_pcid only makes KVM_REQ_MMU_SYNC and
// KVM_REQ_TLB_FLUSH_CURRENT, which vcpu_enter_guest services after KVM_REQ_MMU_FREE_OBSOLETE_ROOTS.
/**
 * Checks, for each CR3 write of a run, what its vCPU says until its next VM-entry:
 * kvm_invalidate_pcid's two requests, serviced at the entry after the obsolete
 * roots are freed, the sync before the flush. Returns the writes, those of the
 * same CR3, and those whose vCPU freed obsolete roots before the sync.
 */
function checkCr3Writes(s: Scenario, seed: number): { writes: number; same: number; freedFirst: number } {
  const logged = new Logged();
  const result = runWith(s, [new FtraceSink(), logged], { seed });
  assert.deepEqual(result.violations, []);
  /** Per thread: what it said since its last CR3 write, until its next VM-entry. */
  const since = new Map<number, string[]>();
  const n = { writes: 0, same: 0, freedFirst: 0 };
  for (const { thread, text } of logged.log!.lines) {
    if (text.startsWith('kvm_set_cr3: ')) {
      n.writes++;
      if (text.includes(' again ')) n.same++;
      since.set(thread, [text]);
      continue;
    }
    const said = since.get(thread);
    if (said === undefined) continue;
    if (!text.startsWith('VM-entry ')) {
      said.push(text);
      continue;
    }
    since.delete(thread);
    const at = (re: RegExp) => said.findIndex((t) => re.test(t));
    const ask = at(/^make request KVM_REQ_MMU_SYNC to vCPU\d$/);
    const askFlush = at(/^make request KVM_REQ_TLB_FLUSH_CURRENT to vCPU\d$/);
    const sync = at(/^service KVM_REQ_MMU_SYNC$/);
    const flush = at(/^service KVM_REQ_TLB_FLUSH(_CURRENT)?$/);
    const free = at(/^service KVM_REQ_MMU_FREE_OBSOLETE_ROOTS$/);
    const story = said.join('\n');
    assert.ok(ask > 0 && askFlush > ask, `kvm_invalidate_pcid's requests, in the exit handler:\n${story}`);
    assert.ok(sync > askFlush && flush > sync, `serviced at the next entry, the sync first:\n${story}`);
    if (free >= 0) {
      assert.ok(free < sync, `the obsolete roots are freed before the sync:\n${story}`);
      n.freedFirst++;
    }
    // mmu_sync_children runs as KVM_REQ_MMU_SYNC is serviced, or later, as kvm_mmu_load syncs a root it
    // finds in the hash for a CR3 no cached root fitted.
    const load = at(/^load root \d+$/);
    for (const [i, t] of said.entries()) {
      if (!t.startsWith('mmu_sync_children: ')) continue;
      assert.ok((i > sync && i < flush) || (load > flush && i > load), `mmu_sync_children while KVM_REQ_MMU_SYNC is serviced:\n${story}`);
    }
  }
  return n;
}

test('a CR3 write (root-zap-on-process-exit with shared processes and munmapNs 50 µs, seed 1, 2 ms) asks for KVM_REQ_MMU_SYNC and KVM_REQ_TLB_FLUSH_CURRENT (kvm_invalidate_pcid), which the next vcpu_enter_guest services, the sync before the flush, both before the entry; for the same CR3 too', () => {
  const s = shortScenario('root-zap-on-process-exit', 2_000_000);
  s.workload.sharedProcesses = true;
  s.workload.munmapNs = 50_000;
  const n = checkCr3Writes(s, 1);
  assert.ok(n.writes > 50 && n.same > 10, `${n.writes} CR3 writes, ${n.same} of the same CR3`);
});

test("a CR3 write while a request to free obsolete roots is pending (cached-roots-mini, seed 10: the memslot delete's fast zap) frees them first, then syncs: vcpu_enter_guest services KVM_REQ_MMU_FREE_OBSOLETE_ROOTS before KVM_REQ_MMU_SYNC", () => {
  const n = checkCr3Writes(shortScenario('cached-roots-mini', 100_000_000), 10);
  assert.equal(n.freedFirst, 1, JSON.stringify(n));
});
