import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FtraceSink } from '../../src/report/ftrace.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { runWith, shortScenario } from './fixtures.js';

/** A run's ftrace lines (no header), as [thread, tracepoint, fields]. */
function traced(s: Scenario, seed = 1): [string, string, string][] {
  const sink = new FtraceSink();
  const result = runWith(s, [sink], { seed });
  assert.deepEqual(result.violations, []);
  return [...sink.render()]
    .join('')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('cpus='))
    .map((l) => {
      const m = /^ *(\S+)-\d+ +\[\d{3}\] +\d+\.\d{9}: (\w+): +(.*)$/.exec(l);
      assert.ok(m, `not a trace-cmd line: ${l}`);
      return [m[1]!, m[2]!, m[3]!];
    });
}

const INJECTED = /ret RET_PF_RETRY\(#PF injected\)/;

// Regression (a probe): when FNAME(page_fault)'s walk of the guest's tables found the PTE the process
// cleared (munmap), the model queued the guest's #PF handler with no line of the kernel's: the
// kernel injects the #PF at the next vcpu_enter_guest, after its requests, and traces kvm_inj_exception.
test('ftrace under shadow paging (sync-children-mini, seed 1): the #PF KVM injects for a guest PTE the process cleared is kvm_inj_exception "#PF (0x6)", with the error code of the access (U|W, not P), at the next entry, before kvm_entry', () => {
  const lines = traced(shortScenario('sync-children-mini', 100_000_000));
  const done = lines.findIndex(([, name, f]) => name === 'mmulab_page_fault_done' && INJECTED.test(f));
  assert.ok(done > 0, 'a #PF injected');
  const fault = lines.slice(0, done).findLast(([, name]) => name === 'kvm_page_fault')!;
  assert.match(fault[2], /error_code 0x6$/, 'a user write faulted');
  assert.deepEqual(
    lines.slice(done + 1, done + 3).map(([, name, f]) => [name, f]),
    [
      ['kvm_inj_exception', '#PF (0x6)'],
      ['kvm_entry', 'vcpu 0, rip 0x0'],
    ],
  );
  assert.equal(lines.filter(([, name]) => name === 'kvm_inj_exception').length, 1, 'one #PF injected in the run');
});

test('ftrace under shadow paging (root-zap-on-process-exit with munmapNs 20 µs, seed 1, 3 ms, 8 vCPUs): each injected #PF is one kvm_inj_exception on its vCPU before its next kvm_entry, its error code the access\'s W and U; an entry cancelled after the injection reinjects it ("[reinjected]"); no other line', () => {
  const s = shortScenario('root-zap-on-process-exit', 3_000_000);
  s.workload.munmapNs = 20_000;
  const lines = traced(s);
  /** Per vCPU: the error code its fault's #PF will be injected with (after its fault exit), and whether it was injected for an entry not made yet. */
  const queued = new Map<string, { code: string; injected: boolean; cancelled: boolean }>();
  const lastFault = new Map<string, string>();
  const seen = { injected: 0, inj: 0, reinjected: 0 };
  for (const [comm, name, f] of lines) {
    const q = queued.get(comm);
    switch (name) {
      case 'kvm_page_fault':
        lastFault.set(comm, /error_code 0x([0-9a-f]+)$/.exec(f)![1]!);
        break;
      case 'mmulab_page_fault_done':
        if (!INJECTED.test(f)) break;
        seen.injected++;
        assert.equal(q, undefined, `${comm}: a #PF queued twice`);
        queued.set(comm, { code: lastFault.get(comm)!, injected: false, cancelled: false });
        break;
      case 'kvm_inj_exception': {
        assert.ok(q !== undefined, `${comm}: kvm_inj_exception with no #PF queued: ${f}`);
        // The walker's error code: the access's W and U bits, not P (the PTE is not present).
        const code = Number.parseInt(q.code, 16) & 0x6;
        const re = f.endsWith(' [reinjected]');
        assert.equal(f, `#PF (0x${code.toString(16)})${re ? ' [reinjected]' : ''}`);
        assert.equal(re, q.injected, `${comm}: [reinjected] only for a #PF injected for a cancelled entry: ${f}`);
        if (re) assert.ok(q.cancelled, `${comm}: reinjected with no entry cancelled`);
        q.injected = true;
        q.cancelled = false;
        seen.inj++;
        if (re) seen.reinjected++;
        break;
      }
      case 'mmulab_entry_cancelled':
        if (q?.injected) q.cancelled = true;
        break;
      case 'kvm_entry':
        assert.ok(q === undefined || (q.injected && !q.cancelled), `${comm}: entered with a #PF queued and not injected`);
        queued.delete(comm);
        break;
    }
  }
  assert.ok(seen.injected > 100, `${seen.injected} #PFs injected`);
  assert.equal(seen.inj - seen.reinjected, seen.injected, 'one first injection per #PF');
  assert.ok(seen.reinjected > 0, 'an entry cancelled after the injection (a request made meanwhile)');
});
