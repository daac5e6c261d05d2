import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inertSettingsNote } from '../../src/cli/inert-settings.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { cli } from './in-process-cli.js';

test('a setting one MMU alone reads, given for a run under the other, is said to do nothing there (a probe: compare memslot-delete-mini --set mmu=tdp --vary memslotFlush=... printed four identical columns and nothing else)', () => {
  const s = loadScenario('memslot-delete-mini');
  const tdp = effectiveSettings(s, { mmu: 'tdp' });
  const shadow = effectiveSettings(s, {});
  // The scenario itself sets memslotFlush.
  assert.equal(
    inertSettingsNote(s, ['mmu=tdp'], [{ label: null, settings: tdp }]),
    'memslotFlush is read under mmu=shadow only (the TDP MMU always zaps by generation, kvm_mmu_zap_all_fast): it does nothing in this run, under mmu=tdp',
  );
  assert.equal(inertSettingsNote(s, [], [{ label: null, settings: shadow }]), null);
  assert.match(
    inertSettingsNote(
      s,
      ['mmu=tdp,shadow'],
      [
        { label: 'mmu=tdp', settings: tdp },
        { label: 'mmu=shadow', settings: shadow },
      ],
    )!,
    /it does nothing in variant mmu=tdp$/,
  );
  // Neither the scenario nor the command line names it: nothing to say.
  const plain = loadScenario('fault-vs-invalidation-mini');
  assert.equal(inertSettingsNote(plain, [], [{ label: null, settings: effectiveSettings(plain) }]), null);
});

test('compare warns of it on one line of stderr', async () => {
  const r = await cli('compare', 'memslot-delete-mini', '--set', 'mmu=tdp', '--vary', 'memslotFlush=zap-all-fast,zap-slot');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^mmulab: warning: memslotFlush is read under mmu=shadow only .*: it does nothing in any variant, under mmu=tdp\n$/);
});

test("zapBatchPages under another memslot flush than the fast zap, and the shadow guest's workload fields under TDP, are said to do nothing (helper-39's probe: both were silent)", () => {
  const s = loadScenario('slot-zap-accounting');
  const fast = effectiveSettings(s, { memslotFlush: 'zap-all-fast', zapBatchPages: 3 });
  const slot = effectiveSettings(s, { memslotFlush: 'zap-slot', zapBatchPages: 3 });
  assert.equal(
    inertSettingsNote(
      s,
      ['zapBatchPages=3'],
      [
        { label: 'memslotFlush=zap-all-fast', settings: fast },
        { label: 'memslotFlush=zap-slot', settings: slot },
      ],
    ),
    'zapBatchPages is read by the fast zap only (memslotFlush=zap-all-fast): it does nothing in variant memslotFlush=zap-slot',
  );
  const sync = loadScenario('sync-children-mini');
  assert.match(
    inertSettingsNote(sync, ['mmu=tdp'], [{ label: null, settings: effectiveSettings(sync, { mmu: 'tdp' }) }])!,
    /workload\.sharedProcesses, workload\.munmapNs are read under mmu=shadow only \(the TDP MMU does not shadow the guest's page tables\): they do nothing in this run/,
  );
  assert.equal(inertSettingsNote(sync, [], [{ label: null, settings: effectiveSettings(sync) }]), null);
});
