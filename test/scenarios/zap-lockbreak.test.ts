import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explore, makeStrategy } from '../../src/check/index.js';
import { parseSetting } from '../../src/cli/overrides.js';
import type { EventStamp, KvmEvent, Sink } from '../../src/kvm/events.js';
import { defaultSettings } from '../../src/kvm/settings.js';
import { BATCH_ZAP_PAGES } from '../../src/kvm/shadow-page.js';
import { FtraceSink } from '../../src/report/ftrace.js';
import { createInstance, effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { runWith, shortScenario } from '../report/fixtures.js';

const MINI = 'memslot-delete-lockbreak-mini';

/**
 * What one execution showed of the fast zap's lock break: how many times
 * kvm_zap_obsolete_pages dropped mmu_lock, and whether a vCPU made a page of the
 * new generation in one (after the toggle, before the walk re-took the lock).
 */
class LockBreakSink implements Sink {
  breaks = 0;
  newPagesInBreak = 0;
  private gen = -1;
  private newSinceBreak = 0;
  attach(): void {}
  on(ev: KvmEvent, _at: EventStamp): void {
    if (ev.e === 'mmuValidGen') this.gen = ev.gen;
    else if (ev.e === 'spCreate' && ev.gen === this.gen) this.newSinceBreak++;
    else if (ev.e === 'lockBreak' && ev.holder === 'kvm_zap_obsolete_pages') {
      this.breaks++;
      this.newPagesInBreak += this.newSinceBreak;
      this.newSinceBreak = 0;
    } else if (ev.e === 'zapAllEnd') this.gen = -1;
  }
}

/** Explores `name` with a sink per execution; returns the result and the sinks. */
function exploreWithSinks(name: string, kind: 'random' | 'pct', maxExecutions: number, mutant: string | null = null) {
  const s = loadScenario(name);
  const settings = effectiveSettings(s);
  const sinks: LockBreakSink[] = [];
  const r = explore(
    (o) => {
      const sink = new LockBreakSink();
      sinks.push(sink);
      return createInstance(s, { settings, mutant, log: o.log, metrics: false, sinks: [sink] });
    },
    makeStrategy({ kind }, 1),
    { maxExecutions },
  );
  return { r, sinks };
}

test('zapBatchPages defaults to the kernel BATCH_ZAP_PAGES (10); --set and scenarios take an integer from 1, and refuse others with one line', () => {
  assert.equal(BATCH_ZAP_PAGES, 10);
  assert.equal(defaultSettings().zapBatchPages, 10);
  assert.deepEqual(parseSetting('zapBatchPages=3'), ['zapBatchPages', 3]);
  for (const bad of ['0', '-1', '1.5', 'ten', '', '2000000']) {
    assert.throws(
      () => parseSetting(`zapBatchPages=${bad}`),
      (e: Error) => {
        assert.equal(e.message, `--set zapBatchPages=${bad}: zapBatchPages expects an integer from 1 to 1000000`);
        return true;
      },
    );
  }
  const yaml = (v: string) =>
    `vm:\n  vcpus: 1\n  memslots:\n    - { id: 0, baseGfn: 0, pages: 4 }\nworkload:\n  gfnCount: 4\nsettings:\n  zapBatchPages: ${v}\n`;
  assert.equal(parseScenario(yaml('2'), 's.yaml').settings.zapBatchPages, 2);
  assert.throws(() => parseScenario(yaml('0'), 's.yaml'), /settings\.zapBatchPages: expected >= 1/);
  assert.throws(() => parseScenario(yaml('"2"'), 's.yaml'), /settings\.zapBatchPages: expected a number/);
});

test("memslot-delete-mini never reaches the fast zap's lock break at the kernel's batch (8 pages, fewer than 10)", () => {
  const { r, sinks } = exploreWithSinks('memslot-delete-mini', 'random', 200);
  assert.equal(r.violation, null, r.violation?.message);
  assert.equal(
    sinks.reduce((n, s) => n + s.breaks, 0),
    0,
  );
});

for (const kind of ['random', 'pct'] as const) {
  test(`${MINI} (${kind}, seed 1): kvm_zap_obsolete_pages drops mmu_lock, vCPUs make new-generation pages in the break, and no property breaks in 400 executions`, () => {
    const { r, sinks } = exploreWithSinks(MINI, kind, 400);
    assert.equal(r.violation, null, r.violation?.message);
    assert.equal(r.modelBug, null);
    assert.ok(
      sinks.some((s) => s.breaks > 0),
      'some execution has a lockBreak of kvm_zap_obsolete_pages',
    );
    assert.ok(
      sinks.some((s) => s.newPagesInBreak > 0),
      'in some execution a vCPU makes a page of the new generation during a lock break',
    );
  });
}

test(`${MINI}, mutant zap-obsolete-walk-from-head (pct, seed 1): restarted from the newest end after a break, the walk stops at a page a vCPU made in it, and the fast zap returns with obsolete pages left`, () => {
  const { r, sinks } = exploreWithSinks(MINI, 'pct', 2_000, 'zap-obsolete-walk-from-head');
  assert.equal(r.violation?.kind, 'obsolete-page', r.violation?.message);
  const last = sinks.at(-1)!;
  assert.ok(last.breaks > 0 && last.newPagesInBreak > 0, 'the execution that found it broke the lock with a new page made in the break');
});

test(`${MINI}: the simulator's run breaks the fast zap's lock too, and the zap still ends`, () => {
  const sink = new LockBreakSink();
  const result = runWith(loadScenario(MINI), [sink], { seed: 1 });
  assert.ok(sink.breaks > 0);
  assert.equal(result.violations.length, 0);
  assert.equal(result.progress.livelock, false);
});

// The kernel traces kvm_mmu_prepare_zap_page first thing in __kvm_mmu_prepare_zap_page,
// before it unlinks anything: the model printed it after the page's SPTEs were dropped.
test('ftrace: kvm_mmu_prepare_zap_page of a level-1 page comes before the drops of its SPTEs', () => {
  const s = shortScenario('memslot-delete-mini', 100_000_000);
  const sink = new FtraceSink();
  runWith(s, [sink], { seed: 1 });
  const lines = [...sink.render({ title: 't' })].join('').split('\n');
  const zap = lines.findIndex((l) => l.includes(' kvm_mmu_prepare_zap_page: ') && l.includes(' l1 '));
  assert.ok(zap > 0, 'a level-1 page is zapped');
  assert.match(lines[zap + 1]!, / mmulab_drop_spte: /);
  assert.doesNotMatch(lines[zap - 1]!, / mmulab_drop_spte: /);
});
