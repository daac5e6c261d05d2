import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderCompare, runCompare } from '../../src/cli/compare.js';
import { applySets, parseVaries } from '../../src/cli/overrides.js';
import { renderCompareReport } from '../../src/report/html-compare.js';
import { scenarioDigest } from '../../src/scenario/digest.js';
import { loadScenario } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';
import { cli, load } from './in-process-cli.js';

const dir = tempDir('mmulab-dirty-flavour-');
const at = (name: string) => join(dir, name);
/** JSON with every wallMs zeroed: the only field allowed to differ between identical runs. */
const norm = (v: unknown) => JSON.stringify(v, (k, x) => (k === 'wallMs' ? 0 : x));

test('dirty-log knobs: dirtyLog sets host.dirtyLog to the flavour, the default flavour digests as the scenario does', () => {
  const mini = loadScenario('dirty-log-mini');
  const dl = (sets: string[]) => applySets(mini, sets).scenario.host.dirtyLog;
  assert.equal(scenarioDigest(applySets(mini, ['dirtyLog=get']).scenario), scenarioDigest(mini));
  assert.deepEqual({ ...dl(['dirtyLog=manual']) }, { ...mini.host.dirtyLog, protect: 'manual' });
  const ring = dl(['dirtyLog=ring:64']);
  assert.equal(ring?.mode, 'ring');
  assert.equal(ring?.ringSize, 64);
  assert.equal(ring?.protect, undefined);
  assert.equal(dl(['dirtyLog=ring', 'ringSize=8'])?.ringSize, 8);
  // Back from a ring to the bitmap: no ring fields left.
  const back = applySets(loadScenario('dirty-ring-mini'), ['dirtyLog=manual-initially-set']).scenario.host.dirtyLog;
  assert.equal(back?.mode, undefined);
  assert.equal(back?.ringSize, undefined);
  assert.equal(back?.protect, 'manual-initially-set');
  // A ring scenario keeps its own size under dirtyLog=ring.
  assert.equal(applySets(loadScenario('dirty-ring-mini'), ['dirtyLog=ring']).scenario.host.dirtyLog?.ringSize, 2);
});

test('compare --vary dirtyLog: one column per flavour, the ring rows only in ring columns and the bitmap rows only in bitmap columns ("-" elsewhere); deterministic', () => {
  const mini = loadScenario('dirty-log-mini');
  const vary = parseVaries(['dirtyLog=get,manual,ring:2,ring:4']);
  const c = runCompare(mini, {}, vary, [1], { mutant: null });
  assert.deepEqual(
    c.rows.map((r) => r.label),
    ['dirtyLog=get', 'dirtyLog=manual', 'dirtyLog=ring:2', 'dirtyLog=ring:4'],
  );
  assert.deepEqual(
    c.rows.map((r) => r.size),
    [{ dirtyLog: 'get' }, { dirtyLog: 'manual' }, { dirtyLog: 'ring:2' }, { dirtyLog: 'ring:4' }],
  );
  for (const r of c.rows) for (const x of r.results) assert.deepEqual([x.violations, x.progress.livelock], [[], false], r.label);
  const text = renderCompare(c);
  const row = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}  `));
    assert.ok(line !== undefined, `row ${name} in\n${text}`);
    return line
      .slice(name.length)
      .trim()
      .split(/\s{2,}/);
  };
  const num = /^\d+$/;
  const cells = (name: string, pattern: (RegExp | string)[]) => {
    for (const [i, cell] of row(name).entries()) {
      const p = pattern[i]!;
      assert.match(cell, typeof p === 'string' ? new RegExp(`^${p}$`) : p, `${name} column ${i}`);
    }
  };
  cells('  dirty ring pushes', ['-', '-', num, num]);
  cells('  KVM_EXIT_DIRTY_RING_FULL exits', ['-', '-', num, num]);
  cells('  KVM_RESET_DIRTY_RINGS calls', ['-', '-', num, num]);
  cells('  ring entries reset', ['-', '-', num, num]);
  cells('  pages copied by the VMM', [num, num, num, num]);
  cells('  KVM_CLEAR_DIRTY_LOG clears', ['-', num, '-', '-']);
  cells('dirty log harvests', [num, num, '-', '-']);
  cells('mmu_lock write acq', [num, num, num, num]);
  cells('remote flushes', [num, num, num, num]);
  cells('  write-protect faults', [num, num, num, num]);
  cells('simulated time', [/s$/, /s$/, /s$/, /s$/]);
  assert.equal(c.rows[0]!.results[0]!.metrics.dirtyLog!.ring, undefined);
  assert.ok(c.rows[2]!.results[0]!.metrics.dirtyLog!.ring!.pushes > 0);
  assert.equal(norm(runCompare(mini, {}, vary, [1], { mutant: null })), norm(c));
});

test("compare --report: the HTML table shows '-' where the text table does (the ring's figures in a bitmap's column, the bitmap's in a ring's, the clears without manual protect), and numbers elsewhere", () => {
  const mini = loadScenario('dirty-log-mini');
  const c = runCompare(mini, {}, parseVaries(['dirtyLog=get,manual,ring:2']), [1], { mutant: null });
  const html = renderCompareReport(c.rows.map((r) => ({ label: r.label, results: r.results })));
  const cells = (key: string) =>
    [...html.matchAll(new RegExp(`data-metric="${key.replace(/\./g, '\\.')}" data-value="([^"]*)">([^<]*)<`, 'g'))].map((m) => (m[1] === '' ? m[2] : 'n'));
  assert.deepEqual(cells('dirtyLog.ring.pushes'), ['-', '-', 'n']);
  assert.deepEqual(cells('dirtyLog.harvests'), ['n', 'n', '-']);
  assert.deepEqual(cells('dirtyLog.pagesMarked'), ['n', 'n', '-']);
  assert.deepEqual(cells('dirtyLog.clears'), ['-', 'n', '-']);
  assert.deepEqual(cells('dirtyLog.pagesCopied'), ['n', 'n', 'n']);
  assert.deepEqual(cells('dirtyLog.wpFaults'), ['n', 'n', 'n']);
});

test('sweep --vary dirtyLog,ringSize: shards merged equal the unsharded sweep; the parts record the knobs', async () => {
  const args = ['sweep', 'dirty-ring-mini', '--vary', 'dirtyLog=ring', '--vary', 'ringSize=2,4', '--seeds', '2', '--workers', '0'];
  for (const [name, more] of [
    ['whole.json', []],
    ['p0.json', ['--shard', '0/3']],
    ['p1.json', ['--shard', '1/3']],
    ['p2.json', ['--shard', '2/3']],
  ] as const) {
    const r = await cli(...args, ...more, '--json', at(name));
    assert.equal(r.code, 0, r.stderr);
  }
  const m = await cli('merge', at('p2.json'), at('p0.json'), at('p1.json'), '--json', at('merged.json'));
  assert.equal(m.code, 0, m.stderr);
  const whole = load(at('whole.json')) as { rows: { label: string; size: unknown }[] };
  assert.deepEqual(
    whole.rows.map((r) => [r.label, r.size]),
    [
      ['dirtyLog=ring ringSize=2', { dirtyLog: 'ring', ringSize: 2 }],
      ['dirtyLog=ring ringSize=4', { dirtyLog: 'ring', ringSize: 4 }],
    ],
  );
  const strip = (j: Record<string, unknown>) => norm({ ...j, shard: null });
  assert.equal(strip(load(at('merged.json'))), strip(whole));
});

test('the live-migration scenario runs under each flavour: no violation, no livelock, the dirty log working', () => {
  const s = loadScenario('live-migration');
  s.stop.timeNs = 6_000_000;
  const c = runCompare(s, {}, parseVaries(['dirtyLog=get,manual,manual-initially-set,ring:64,ring:512']), [1], { mutant: null });
  for (const row of c.rows) {
    const r = row.results[0]!;
    assert.deepEqual([r.violations, r.progress.livelock, r.partial], [[], false, false], row.label);
    assert.ok(r.metrics.dirtyLog!.wpFaults > 0, `${row.label}: write-protect faults`);
  }
  const ring = (i: number) => c.rows[i]!.results[0]!;
  // The ring takes mmu_lock for write once per mask it resets; the bitmap once per harvest (or clear).
  assert.ok(ring(3).metrics.mmuLock.writeAcquires > 10 * ring(0).metrics.mmuLock.writeAcquires);
  // A smaller ring fills sooner: more KVM_EXIT_DIRTY_RING_FULL exits.
  assert.ok(ring(3).metrics.dirtyLog!.ring!.fullExits > ring(4).metrics.dirtyLog!.ring!.fullExits);
});

test('dirty-log knobs: a ring size the ring already has leaves the scenario as dirtyLog=ring does (the same digest)', () => {
  const digest = (name: string, sets: string[]) => scenarioDigest(applySets(loadScenario(name), sets).scenario);
  // The ring's default (4 entries) stays absent; a ring scenario's own size stays as its file gives it.
  assert.equal(digest('live-migration', ['dirtyLog=ring:4']), digest('live-migration', ['dirtyLog=ring']));
  assert.equal(digest('dirty-log-mini', ['dirtyLog=ring', 'ringSize=4']), digest('dirty-log-mini', ['dirtyLog=ring']));
  assert.equal(digest('dirty-ring-mini', ['dirtyLog=ring:2']), digest('dirty-ring-mini', []));
  assert.equal(digest('dirty-ring-mini', ['ringSize=2']), digest('dirty-ring-mini', []));
  assert.equal(digest('dirty-ring-mini', ['ringSize=4']), digest('dirty-ring-mini', ['dirtyLog=ring:4']));
  assert.notEqual(digest('dirty-ring-mini', ['ringSize=4']), digest('dirty-ring-mini', []));
  assert.equal(applySets(loadScenario('dirty-ring-mini'), ['dirtyLog=ring:4']).scenario.host.dirtyLog?.ringSize, undefined);
});

test('dirty-log knobs: a ring size given twice, or given for a bitmap column, is refused in one line (exit 2), in any mix of --set and --vary', async () => {
  const twice = (flavour: string, size: number) =>
    `ringSize=${size}: the ring's size is given twice \\(dirtyLog=${flavour} and ringSize=${size}\\); expected one of them`;
  const bad = async (args: string[], pattern: string) => {
    const r = await cli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, new RegExp(`^mmulab: ${pattern}.*\\n$`), args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  };
  await bad(['run', 'dirty-ring-mini', '--set', 'dirtyLog=ring:2', '--set', 'ringSize=1024'], `--set ${twice('ring:2', 1024)}`);
  await bad(['run', 'dirty-ring-mini', '--set', 'ringSize=1024', '--set', 'dirtyLog=ring:2'], `--set ${twice('ring:2', 1024)}`);
  await bad(
    ['compare', 'dirty-ring-mini', '--vary', 'dirtyLog=ring:4', '--vary', 'ringSize=2,8'],
    `dirty-ring-mini \\(dirtyLog=ring:4 ringSize=2\\): ${twice('ring:4', 2)}`,
  );
  await bad(['compare', 'dirty-ring-mini', '--set', 'dirtyLog=ring:4', '--vary', 'ringSize=2,8'], `dirty-ring-mini \\(ringSize=2\\): ${twice('ring:4', 2)}`);
  await bad(
    ['sweep', 'dirty-ring-mini', '--set', 'ringSize=8', '--vary', 'dirtyLog=ring,ring:4', '--workers', '0'],
    `dirty-ring-mini \\(dirtyLog=ring:4\\): ${twice('ring:4', 8)}`,
  );
  const bitmap = 'ringSize=8: dirtyLog=get makes the dirty log a bitmap, which has no ring to size; expected dirtyLog=ring \\(or dirtyLog=ring:8 alone\\)';
  await bad(['run', 'dirty-ring-mini', '--set', 'dirtyLog=get', '--set', 'ringSize=8'], `--set ${bitmap}`);
  await bad(['compare', 'dirty-ring-mini', '--vary', 'dirtyLog=get,ring', '--set', 'ringSize=8'], `dirty-ring-mini \\(dirtyLog=get\\): ${bitmap}`);
  await bad(
    ['sweep', 'dirty-ring-mini', '--vary', 'dirtyLog=get,ring', '--set', 'ringSize=8', '--workers', '0'],
    `dirty-ring-mini \\(dirtyLog=get\\): ${bitmap}`,
  );
  await bad(['compare', 'dirty-ring-mini', '--set', 'dirtyLog=get', '--vary', 'ringSize=8,16'], `dirty-ring-mini \\(ringSize=8\\): ${bitmap}`);
  // Two columns of one run: refused as vcpus=1,01 is.
  await bad(['compare', 'dirty-log-mini', '--vary', 'dirtyLog=ring,ring:4'], 'dirty-log-mini: variants dirtyLog=ring and dirtyLog=ring:4 are one run');
  await bad(['compare', 'dirty-ring-mini', '--vary', 'dirtyLog=ring,ring:2'], 'dirty-ring-mini: variants dirtyLog=ring and dirtyLog=ring:2 are one run');
  // The ring's size and the flavour, each given once: run.
  assert.equal((await cli('compare', 'dirty-ring-mini', '--set', 'dirtyLog=ring', '--vary', 'ringSize=2,8')).code, 0);
});

test('merge takes check parts whose --set made one run (ringSize=4 and dirtyLog=ring:4), and refuses parts of two ring sizes', async () => {
  const part = async (name: string, set: string, shard: string) => {
    const file = at(`${name}.json`);
    const r = await cli('check', 'dirty-ring-mini', '--set', set, '--shard', shard, '--max-executions', '30', '--json', file);
    assert.equal(r.code, 0, r.stderr);
    return file;
  };
  const a = await part('size4-0', 'ringSize=4', '0/2');
  const b = await part('ring4-1', 'dirtyLog=ring:4', '1/2');
  const c = await part('size8-1', 'ringSize=8', '1/2');
  const merged = await cli('merge', a, b, '--json', at('merged.json'));
  assert.equal(merged.code, 0, merged.stderr);
  assert.deepEqual(load(at('merged.json')).settings, { ringSize: '4' });
  const other = await cli('merge', a, c);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /: --set differs from .*'s: ringSize=8 against ringSize=4\n$/);
});
