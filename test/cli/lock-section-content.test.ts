import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TraceEvent } from '../report/trace-check.js';
import { tempDir } from '../temp-dir.js';
import { captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-lock-section-');

/** A line whose mmu_lock section has nothing in it: an acquisition followed at once by its release. */
const EMPTY_SECTION = /_lock\(mmu_lock\)(?: \([^)]*\))?; (?:read|write)_unlock\(mmu_lock\)/;

/** The story `check <scenario> --mutate <mutant>` prints (exit 1), every mmu_lock section in it with something inside. */
async function mutantStory(scenario: string, mutant: string, ...args: string[]): Promise<string[]> {
  const r = await captured(['check', scenario, '--mutate', mutant, ...args]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assert.deepEqual(
    lines.filter((l) => EMPTY_SECTION.test(l)),
    [],
  );
  return lines;
}

test("check apic-reload-mini --mutate apic-reload-no-retry: the reload's mmu_invalidate_retry_gfn under read_lock(mmu_lock) is printed with its inputs, and that the mutant ignored its retry, before the pfn is written", async () => {
  const lines = await mutantStory('apic-reload-mini', 'apic-reload-no-retry');
  const check = lines.findIndex((l) =>
    /^\s*\d+\. vCPU0: read_lock\(mmu_lock\)[^;]*; mmu_invalidate_retry_gfn APIC-access gfn 0xfee00 \(mmu_invalidate_in_progress=1 range gfns \[0xfee00,0xfee01\), mmu_invalidate_seq=0, snapshot 0\): retry, ignored \(the mutant writes the pfn all the same\)$/.test(
      l,
    ),
  );
  assert.ok(check >= 0, lines.join('\n'));
  assert.match(lines[check + 1]!, /^\s*\d+\. vCPU0: APIC_ACCESS_ADDR := pfn 0x1000; read_unlock\(mmu_lock\)/);
});

test("check apic-reload-mini --mutate vcpu-enter-ignores-requests (the reload's check as the kernel's): every reload under apicAccessPage=retry prints its mmu_invalidate_retry_gfn check, each followed by what it did (a re-request for retry, the pfn written for no retry)", async () => {
  // vcpu-enter-ignores-requests leaves the reload's check as the kernel's: its counterexample shows the check honoured.
  const lines = await mutantStory('apic-reload-mini', 'vcpu-enter-ignores-requests');
  const checks = lines.map((l, i) => [l, i] as const).filter(([l]) => /[:;] mmu_invalidate_retry_gfn APIC-access gfn 0xfee00 \(/.test(l));
  assert.ok(checks.length > 0, lines.join('\n'));
  for (const [l, i] of checks) {
    const next = lines[i + 1]!;
    if (/\): retry$/.test(l)) assert.match(next, /: invalidation in progress: re-request KVM_REQ_APIC_PAGE_RELOAD/);
    else {
      assert.match(l, /\): no retry$/);
      assert.match(next, /: APIC_ACCESS_ADDR := pfn 0x[0-9a-f]+/);
    }
  }
});

test("check mmio-gen-mini --mutate mmio-gen-wrap-no-zap: the MMIO fault's is_page_fault_stale (no memslot: the root alone) is printed under read_lock(mmu_lock), before its MMIO SPTE", async () => {
  const lines = await mutantStory('mmio-gen-mini', 'mmio-gen-wrap-no-zap');
  const stale = lines.findIndex((l) =>
    /^\s*\d+\. vCPU0: read_lock\(mmu_lock\); is_page_fault_stale gfn 0x1 \(no memslot: only the root is checked\): root 0 not obsolete: not stale$/.test(l),
  );
  assert.ok(stale >= 0, lines.join('\n'));
  assert.match(lines[stale + 1]!, /^\s*\d+\. vCPU0: install MMIO SPTE gfn 0x1 generation 0 in root 0; read_unlock\(mmu_lock\)$/);
});

test('check table-reuse-mini --mutate account-shadowed-no-flush: each emulated write to a write-tracked table prints kvm_mmu_track_write under write_lock(mmu_lock) (pages updated, their write-flooding counts, the pages zapped for flooding): no section is printed empty', async () => {
  const lines = await mutantStory('table-reuse-mini', 'account-shadowed-no-flush');
  assert.ok(
    lines.some((l) =>
      /: write_lock\(mmu_lock\); kvm_mmu_track_write gfn 0x8000400 entry 0: 1 shadow page\(s\) updated: sp 0 \(write flooding 1 of 3\), 1 present SPTE\(s\) zapped; 0 zapped \(flooding\)$/.test(
        l,
      ),
    ),
    lines.join('\n'),
  );
  // The flooding write: the page zapped whole, its kvm_mmu_prepare_zap_page after the line that says why.
  const flood = lines.findIndex((l) => /: kvm_mmu_track_write gfn 0x8000401 entries 2-511: 0 shadow pages updated; 1 zapped \(flooding\): sp 1/.test(l));
  assert.ok(flood >= 0, lines.join('\n'));
  // Each emulated fault on a tracked table ends RET_PF_EMULATE after its kvm_mmu_track_write.
  for (const [i, l] of lines.entries()) {
    if (!/: page fault gfn 0x800040[0-2]: RET_PF_EMULATE$/.test(l)) continue;
    const begin = lines.slice(0, i).findLastIndex((x) => /: page fault on gfn /.test(x));
    assert.ok(
      lines.slice(begin, i).some((x) => /kvm_mmu_track_write gfn /.test(x)),
      lines.slice(begin, i + 1).join('\n'),
    );
  }
});

test('check concurrent-invalidations-mini --mutate tlb-flush-after-entry: the notifier re-taking mmu_lock after its lock break prints what it did there (the walk goes on, nothing left to zap), not an empty section; in the exports, that resumed walk (its step of the story) is a mmulab_zap_resumed line after mmulab_lock_break and an instant at that event, not a gap', async () => {
  const ftrace = join(dir, 'ci.ftrace');
  const trace = join(dir, 'ci.trace.json');
  const lines = await mutantStory('concurrent-invalidations-mini', 'tlb-flush-after-entry', '--ftrace', ftrace, '--trace', trace);
  assert.ok(
    lines.some((l) =>
      /: write_lock\(mmu_lock\)[^;]*; tdp_mmu_zap_leafs: lock re-taken, the walk of root 0 goes on: no SPTE left to zap up to gfn 0x1, no flush pending; write_unlock\(mmu_lock\)$/.test(
        l,
      ),
    ),
    lines.join('\n'),
  );
  // The exports (this check's, so that it runs once: they were test/report/story-events-export.test.ts's).
  const step = /^ *(\d+)\. migrate0\.0: .*tdp_mmu_zap_leafs: lock re-taken, the walk of root 0 goes on/m.exec(lines.join('\n'));
  assert.ok(step, lines.join('\n'));
  const logged = readFileSync(ftrace, 'utf8').split('\n');
  const resumed = logged.findIndex((l) => / mmulab_zap_resumed: +tdp_mmu_zap_leafs root 0 end 1 zapped 0 flush_pending 0$/.test(l));
  assert.ok(resumed >= 0, logged.join('\n'));
  assert.ok(
    logged.slice(0, resumed).some((l) => / mmulab_lock_break: +tdp_mmu_zap_leafs drops mmu_lock$/.test(l)),
    'after the lock break',
  );
  // The log's time is the event's number in the printed story: event n at n µs.
  assert.match(logged[resumed]!, new RegExp(` 0\\.0000${step[1]}000: `));
  const events = (JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
  const instants = events.filter((t) => t.ph === 'i' && t.args?.event === 'zapResumed');
  assert.equal(instants.length, 1);
  assert.equal(instants[0]!.ts, Number(step[1]));
  assert.equal(instants[0]!.name, 'zap walk resumed');
  assert.deepEqual(instants[0]!.args, {
    event: 'zapResumed',
    step: Number(step[1]),
    text: 'tdp_mmu_zap_leafs: lock re-taken, the walk of root 0 goes on: no SPTE left to zap up to gfn 0x1, no flush pending',
    holder: 'tdp_mmu_zap_leafs',
    root: 0,
    end: '0x1',
    flushPending: false,
  });
});
