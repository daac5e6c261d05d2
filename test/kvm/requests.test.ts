import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvmEvent, Sink } from '../../src/kvm/events.js';
import { defaultSettings } from '../../src/kvm/settings.js';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

class Recorder implements Sink {
  readonly events: KvmEvent[] = [];
  on(ev: KvmEvent): void {
    this.events.push(ev);
  }
}

/** vCPU entries that happened while the vCPU had an APIC-access reload outstanding. */
function entriesDuringStall(events: KvmEvent[]): number {
  const stalled = new Set<number>();
  let bad = 0;
  for (const ev of events) {
    if (ev.e === 'apicReload') {
      if (ev.outcome === 'retry') stalled.add(ev.vcpu);
      else stalled.delete(ev.vcpu);
    } else if (ev.e === 'vmEntry' && stalled.has(ev.vcpu)) bad++;
  }
  return bad;
}

/** VM-entries made while an invalidation (here, of the APIC-access page) was between start and end. */
function entriesDuringInvalidation(events: KvmEvent[]): number {
  let open = 0;
  let bad = 0;
  for (const ev of events) {
    if (ev.e === 'invalidateRangeStart') open++;
    else if (ev.e === 'invalidateRangeEnd') open--;
    else if (ev.e === 'vmEntry' && open > 0) bad++;
  }
  return bad;
}

test('requests: the late pre-entry check keeps a vCPU out of the guest while its re-made APIC reload is pending (seed 1)', () => {
  const s = loadScenario('test/fixtures/apic-held.yaml');
  const rec = new Recorder();
  const r = simulate(s, { settings: { ...defaultSettings(), apicAccessPage: 'retry' }, mutant: null, seed: 1, sinks: [rec] });
  assert.equal(r.violations.length, 0, JSON.stringify(r.violations));
  assert.ok(r.metrics.apic.reRequests > 0, 'the reload was re-requested during the invalidation');
  assert.ok(r.metrics.guest.entriesCancelled > 0, 'the late check cancelled entries');
  assert.equal(entriesDuringStall(rec.events), 0);
  // The vCPUs stay out of the guest for the whole held invalidation: re-requesting,
  // or waiting in get_user_pages for the page under migration.
  assert.ok(rec.events.some((ev) => ev.e === 'invalidateRangeStart'));
  assert.equal(entriesDuringInvalidation(rec.events), 0);
});

test('requests: without the late check (mutant vcpu-enter-ignores-requests) the vCPU enters with the reload pending (seed 1)', () => {
  const s = loadScenario('test/fixtures/apic-held.yaml');
  const rec = new Recorder();
  simulate(s, { settings: { ...defaultSettings(), apicAccessPage: 'retry' }, mutant: 'vcpu-enter-ignores-requests', seed: 1, sinks: [rec] });
  assert.ok(entriesDuringStall(rec.events) > 0);
});

test('rootZap under the TDP MMU: the fast zap asks vCPUs for KVM_REQ_MMU_RELOAD with reload-all (before thread 003) and KVM_REQ_MMU_FREE_OBSOLETE_ROOTS with free-obsolete (it always sent the latter: the setting did nothing under TDP)', async () => {
  const { runWith } = await import('../report/fixtures.js');
  const { loadScenario } = await import('../../src/scenario/load.js');
  const { KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_MMU_RELOAD } = await import('../../src/kvm/requests.js');
  for (const [rootZap, asked, notAsked] of [
    ['reload-all', KVM_REQ_MMU_RELOAD, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS],
    ['free-obsolete', KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, KVM_REQ_MMU_RELOAD],
  ] as const) {
    const reqs = new Map<number, number>();
    const r = runWith(
      loadScenario('memslot-delete-mini'),
      [
        {
          kinds: ['request'],
          attach() {},
          on(ev) {
            if (ev.e === 'request') reqs.set(ev.req, (reqs.get(ev.req) ?? 0) + 1);
          },
        },
      ],
      { settings: { mmu: 'tdp', rootZap } },
    );
    assert.equal(r.violations.length, 0, JSON.stringify(r.violations));
    assert.ok((reqs.get(asked) ?? 0) > 0, `${rootZap}: ${JSON.stringify([...reqs])}`);
    assert.equal(reqs.get(notAsked) ?? 0, 0, `${rootZap}: ${JSON.stringify([...reqs])}`);
  }
});
