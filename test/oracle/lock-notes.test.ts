import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitLockNotes } from '../../src/oracle/lock-notes.js';
import { PerfettoSink } from '../../src/report/perfetto.js';
import type { LogLine } from '../../src/runtime/instance.js';
import { captured } from '../cli/captured-cli.js';
import { counterexampleOf, notedReplay } from '../report/fixtures.js';
import { tempDir } from '../temp-dir.js';

test('splitLockNotes: the mmu_lock operations before and after an event come apart from it, the thread name a line starts with stays with the event, and an event\'s own "; " is not split', () => {
  assert.deepEqual(splitLockNotes('read_lock(mmu_lock); is_page_fault_stale gfn 0x0: not stale'), {
    own: '',
    before: ['read_lock(mmu_lock)'],
    event: 'is_page_fault_stale gfn 0x0: not stale',
    after: [],
  });
  assert.deepEqual(splitLockNotes('install SPTE gfn 0x0 → pfn 0x1000 in root 0; read_unlock(mmu_lock) (migrate waiting)'), {
    own: '',
    before: [],
    event: 'install SPTE gfn 0x0 → pfn 0x1000 in root 0',
    after: ['read_unlock(mmu_lock) (migrate waiting)'],
  });
  assert.deepEqual(
    splitLockNotes(
      'migrate: write_lock(mmu_lock) (contended: waited from line 3 while vCPU0 held it for read); invalidate_range_start returns; write_unlock(mmu_lock)',
    ),
    {
      own: 'migrate: ',
      before: ['write_lock(mmu_lock) (contended: waited from line 3 while vCPU0 held it for read)'],
      event: 'migrate: invalidate_range_start returns',
      after: ['write_unlock(mmu_lock)'],
    },
  );
  const pgd = 'kvm_mmu_new_pgd CR3 0x8000000000: no cached root fits, one is built before entry; prev_roots sp 0';
  assert.deepEqual(splitLockNotes(pgd), { own: '', before: [], event: pgd, after: [] });
  // A line that is all lock operations cannot be: the event stays.
  assert.equal(splitLockNotes('write_unlock(mmu_lock)').event, 'write_unlock(mmu_lock)');
});

/** Who holds mmu_lock at each line's event, as the lines tell it; throws where they contradict themselves. */
function holdsAtEvents(lines: readonly LogLine[], name: (tid: number) => string): Map<string, 'read' | 'write'>[] {
  const held = new Map<string, 'read' | 'write'>();
  const apply = (who: string, op: string, where: string) => {
    const m = /^(read|write)_(un)?lock\(mmu_lock\)/.exec(op)!;
    const mode = m[1] as 'read' | 'write';
    if (m[2] === undefined) {
      assert.equal(held.get(who), undefined, `${where}: ${who} takes mmu_lock it holds`);
      const others = [...held.entries()].filter(([t]) => t !== who);
      assert.ok(
        others.every(([, m2]) => mode === 'read' && m2 === 'read'),
        `${where}: ${who} takes mmu_lock for ${mode} while ${JSON.stringify(others)} hold it`,
      );
      held.set(who, mode);
    } else {
      assert.equal(held.get(who), mode, `${where}: ${who} releases mmu_lock it does not hold for ${mode}`);
      held.delete(who);
    }
  };
  return lines.map((l, i) => {
    const who = name(l.thread);
    const { before, after } = splitLockNotes(l.text);
    for (const op of before) apply(who, op, `line ${i + 1}`);
    const at = new Map(held);
    for (const op of after) apply(who, op, `line ${i + 1}`);
    return at;
  });
}

/** Each mutant with its scenario, and the strategy that finds it when random walks do not in 5,000. */
const MUTANTS: readonly (readonly [string, string, ('random' | 'pct')?])[] = [
  ['fault-vs-invalidation-mini', 'fault-skip-range-check'],
  ['fault-vs-invalidation-mini', 'fault-skip-seq-check'],
  ['fault-vs-invalidation-mini', 'invalidate-skip-tlb-flush'],
  ['apic-reload-mini', 'apic-reload-no-retry'],
  ['apic-reload-mini', 'vcpu-enter-ignores-requests'],
  ['memslot-delete-mini', 'zap-fast-no-generation-bump'],
  ['root-zap-mini', 'zap-root-no-request'],
  ['cached-roots-mini', 'free-obsolete-roots-tests-current'],
  ['root-zap-shared-mini', 'zap-root-request-before-invalid'],
  ['memslot-delete-lockbreak-mini', 'zap-obsolete-walk-from-head'],
  ['table-reuse-mini', 'account-shadowed-no-flush'],
  ['mmio-gen-mini', 'mmio-check-ignores-update-in-progress'],
  ['mmio-gen-mini', 'memslot-gen-no-update-in-progress'],
  ['mmio-gen-mini', 'mmio-gen-wrap-no-zap'],
  // Random with deferred retries misses it in 20,000: pct finds it.
  ['sync-children-mini', 'sync-children-wp-no-flush', 'pct'],
  // The lockless aging holds no mmu_lock across the notifier's zap; random walks miss it in 20,000.
  ['age-vs-numa-mini', 'age-plain-clear', 'pct'],
  // Its twin without EPT A/D bits: the mark for access tracking stored plainly.
  ['age-access-track-mini', 'age-mark-plain-store', 'pct'],
];

for (const [scenario, mutant, strategy] of MUTANTS) {
  test(`step log with mmu_lock (${scenario}, ${mutant}, the checker's counterexample, seed 1): still one line per event, and the holds it shows never overlap where the lock excludes it`, () => {
    const cex = counterexampleOf(scenario, mutant, [], strategy);
    const { lines, inst } = notedReplay(cex);
    // The same events, one line each: the trace exporters number the printed lines by them.
    assert.deepEqual(
      lines.map((l) => splitLockNotes(l.text).event),
      cex.steps.map((s) => splitLockNotes(s.text).event),
    );
    assert.ok(
      lines.some((l) => /(read|write)_lock\(mmu_lock\)/.test(l.text)),
      'mmu_lock is taken somewhere in every counterexample',
    );
    holdsAtEvents(lines, (t) => inst.rt.threads[t]!.name);
  });
}

test("step log with mmu_lock (fault-vs-invalidation-mini, fault-skip-range-check): is_page_fault_stale and the SPTE install run under read_lock, the notifier's kvm_mmu_invalidate_begin under write_lock", () => {
  const cex = counterexampleOf('fault-vs-invalidation-mini', 'fault-skip-range-check');
  const { lines, inst } = notedReplay(cex);
  const name = (t: number) => inst.rt.threads[t]!.name;
  const holds = holdsAtEvents(lines, name);
  const at = (re: RegExp) => lines.map((l, i) => ({ l, i })).filter(({ l }) => re.test(splitLockNotes(l.text).event));
  const stale = at(/^is_page_fault_stale/);
  const installs = at(/^install SPTE/);
  const begins = at(/^kvm_mmu_invalidate_begin/);
  assert.ok(stale.length > 0 && installs.length > 0 && begins.length > 0);
  for (const { l, i } of [...stale, ...installs]) assert.equal(holds[i]!.get(name(l.thread)), 'read', `line ${i + 1}: ${l.text}`);
  for (const { l, i } of begins) assert.equal(holds[i]!.get(name(l.thread)), 'write', `line ${i + 1}: ${l.text}`);
  // The vCPU's read_lock is printed on the line of is_page_fault_stale (other threads ran since its previous line).
  assert.match(lines[stale[0]!.i]!.text, /^read_lock\(mmu_lock\)(?: \(contended: [^)]*\))?; is_page_fault_stale gfn 0x0 /);
});

test("step log with mmu_lock (apic-reload-mini, apic-reload-no-retry): a contended acquisition says from which line it waited and who held the lock then, a release who waits (a probe: 'contended: held by apic-migrate for write' at a line where nobody held it, apic-migrate having let go three lines before)", () => {
  const { lines } = notedReplay(counterexampleOf('apic-reload-mini', 'apic-reload-no-retry'));
  const text = lines.map((l) => l.text).join('\n');
  assert.match(text, /read_lock\(mmu_lock\) \(contended: waited from line \d+ while apic-migrate held it for write, its write_lock on line \d+\)/);
  assert.match(text, /write_lock\(mmu_lock\) \(contended: waited from line \d+ while vCPU\d held it for read, its read_lock on line \d+\)/);
  assert.doesNotMatch(text, /held by/);
  // The wait began before the line the acquisition is printed on, and after the line of the thread's that asked.
  for (const [i, l] of lines.entries()) {
    const m = /\(contended: waited from line (\d+) /.exec(l.text);
    if (m === null) continue;
    const from = Number(m[1]);
    assert.ok(from < i + 1, `line ${i + 1}: ${l.text}`);
    assert.ok(
      lines.slice(from, i).every((o) => o.thread !== l.thread),
      `line ${i + 1}: the thread printed nothing while it waited`,
    );
  }
  assert.match(text, /write_unlock\(mmu_lock\) \(vCPU\d waiting\)/);
});

test("step log with mmu_lock: a wait note names the line the holder's acquisition is printed on, which is that holder's and carries it (a probe: 'waited from line 11 while migrate1.0 held it for write' with migrate1.0's write_lock printed at line 12, after)", () => {
  let notes = 0;
  for (const [scenario, mutant] of [
    ['apic-reload-mini', 'apic-reload-no-retry'],
    ['concurrent-invalidations-mini', 'range-add-no-widen'],
  ] as const) {
    const { lines, inst } = notedReplay(counterexampleOf(scenario, mutant));
    for (const [i, l] of lines.entries()) {
      for (const m of l.text.matchAll(/while (\S+) held it for (read|write), its (?:read|write)_lock on line (\d+)/g)) {
        notes++;
        const on = lines[Number(m[3]) - 1];
        assert.ok(on, `line ${i + 1}: ${l.text}`);
        assert.equal(inst.rt.threads[on.thread]!.name, m[1], `line ${i + 1}: ${l.text}`);
        assert.match(on.text, new RegExp(`(^|; )${m[2]}_lock\\(mmu_lock\\)`), `line ${m[3]}: ${on.text}`);
      }
    }
  }
  assert.ok(notes > 0, "some wait note names a holder's line");
});

for (const [scenario, mutant, strategy] of MUTANTS) {
  test(`step log with mmu_lock (${scenario}, ${mutant}): each operation is on the line it happened next to, as the Perfetto trace places the holds; the trace, whose observer the step log shares the lock with, still gets them`, () => {
    const perfetto = new PerfettoSink(scenario);
    const cex = counterexampleOf(scenario, mutant, [], strategy);
    const { lines, inst } = notedReplay(cex, [perfetto]);
    type Ev = { ph: string; name?: string; cat?: string; ts?: number; dur?: number; tid?: number; args?: { name?: string } };
    const events = (JSON.parse([...perfetto.render()].join('')) as { traceEvents: Ev[] }).traceEvents;
    const track = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid!, e.args!.name!]));
    const holds = events.filter((e) => e.ph === 'X' && e.cat === 'lock-hold');
    assert.ok(holds.length > 0, 'the trace still has its holds');
    // Per thread: after how many events each acquisition and release happened, as the trace has them (a hold sits between steps).
    const traced = new Map<string, number[]>();
    for (const h of [...holds].sort((a, b) => a.ts! - b.ts!)) {
      const l = traced.get(track.get(h.tid!)!) ?? [];
      l.push(Math.floor(h.ts!), Math.floor(h.ts! + h.dur!));
      traced.set(track.get(h.tid!)!, l);
    }
    // The same from the lines: an operation before line n's event came after n - 1 events, one after it after n.
    const noted = new Map<number, number[]>();
    lines.forEach((l, i) => {
      const { before, after } = splitLockNotes(l.text);
      const list = noted.get(l.thread) ?? [];
      for (const _ of before) list.push(i);
      for (const _ of after) list.push(i + 1);
      noted.set(l.thread, list);
    });
    // Holds still open when the log ended (at the violation) are in neither.
    for (const [tid, list] of noted) {
      const name = inst.rt.threads[tid]!.name;
      assert.deepEqual(list, (traced.get(name) ?? []).slice(0, list.length), `${name}'s lock operations`);
    }
  });
}

test("step log: an acquisition starts its thread's next line, not the end of the line before (a probe: 'APIC_ACCESS_ADDR := pfn 0x1000; read_unlock(mmu_lock); read_lock(mmu_lock)', the read_lock being load root's)", async () => {
  const r = await captured(['check', 'apic-reload-mini', '--mutate', 'apic-reload-no-retry', '--out', `${tempDir('mmulab-lock-notes-')}/a.json`]);
  const lines = r.stdout.split('\n').filter((l) => /^ *\d+\. /.test(l));
  assert.ok(lines.length > 0, r.stderr);
  for (const l of lines) assert.doesNotMatch(l, /(?:read|write)_lock\(mmu_lock\)(?: \([^)]*\))?$/, `an acquisition ends a line: ${l}`);
});
