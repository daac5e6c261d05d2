import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { grouped } from '../../src/check/grouped.js';
import { fmtNs } from '../../src/report/duration.js';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

/** The run table's value of a row, by its label. */
function value(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label}  `));
  assert.ok(line, `a row '${label}' in:\n${stdout}`);
  return line.slice(label.length).trim();
}

test("run table: the zap row counts kvm_mmu_zap_memslot's flushes too, so it does not call them zap-all (a probe: 'zap-all started/done, longest  1 / 1' where the only zap was the slot-only one)", async () => {
  const r = await captured(['run', 'slot-zap-accounting', '--set', 'memslotFlush=zap-slot-rmap-only']);
  assert.doesNotMatch(r.stdout, /^zap-all started/m);
  assert.match(value(r.stdout, 'zap-all/memslot zaps started/done, longest'), /^1 \/ 1, \d/);
});

test('run table: a duration the run did not measure is "-", not 0ns (a probe: "invalidation time p50 / max  0ns / 0ns" with no invalidation completed, read as "took no time")', async () => {
  const r = await captured(['run', 'slot-zap-accounting', '--set', 'memslotFlush=zap-slot']);
  assert.doesNotMatch(r.stdout, /partial/, r.stdout);
  assert.equal(value(r.stdout, 'invalidations started / completed'), '0 / 0');
  assert.equal(value(r.stdout, 'invalidation time p50 / max'), '- / -');
  assert.equal(value(r.stdout, 'APIC time re-requesting (sum)'), '-');
  assert.equal(value(r.stdout, 'APIC request to next VM-entry (sum)'), '-');
  // Measured ones keep their time.
  assert.match(value(r.stdout, 'fault latency p50 / p99 / max'), /^[\d.]+µs \/ [\d.]+µs \/ [\d.]+µs$/);
  assert.match(value(r.stdout, 'zap-all/memslot zaps started/done, longest'), /^1 \/ 1, [\d.]+µs$/);
});

test("run table: counts have their thousands grouped as check's do (the JSON keeps numbers), and the faults row says its three parts are some of the total (a probe: 'steps 1760966'; '116941 (59637 / 123 / 0)', which do not add up)", async () => {
  const dir = tempDir('mmulab-run-table-');
  const json = join(dir, 'r.json');
  const r = await captured(['run', 'fault-during-invalidation', '--set', 'vcpus=2', '--json', json]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(json, 'utf8')) as { steps: number; metrics: { faults: Record<string, number> } };
  assert.ok(j.steps >= 1000, `${j.steps} steps`);
  assert.equal(value(r.stdout, 'steps'), grouped(j.steps));
  assert.match(value(r.stdout, 'steps'), /^\d{1,3}(,\d{3})+$/);
  const f = j.metrics.faults;
  assert.equal(
    value(r.stdout, 'faults (of which fixed/spurious/emulated)'),
    `${grouped(f.total!)} (${grouped(f.fixed!)} / ${grouped(f.spurious!)} / ${grouped(f.emulated!)})`,
  );
  assert.doesNotMatch(r.stdout, /^faults \(fixed/m);
});

test('run table: a partial run says why it stopped: interrupted, or the bound it reached (a probe: "(partial: stopped early)" after a SIGINT)', async () => {
  const bounded = await captured(['run', 'fault-during-invalidation', '--max-steps', '1000']);
  assert.match(bounded.stdout, /\n\(partial: stopped at --max-steps 1000\)\n$/);
  const stopped = await captured(['run', 'fault-during-invalidation', '--set', 'vcpus=64'], () => process.emit('SIGINT'));
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stdout, /\n\(partial: interrupted\)\n$/);
});

test('a CLI call after an interrupted one in the same process runs whole (helper-96: the stop flag stayed set, and the next in-process run came out "(partial: interrupted)")', async () => {
  const stopped = await captured(['run', 'fault-during-invalidation', '--set', 'vcpus=64'], () => process.emit('SIGINT'));
  assert.equal(stopped.code, 130, stopped.stderr);
  const next = await captured(['run', 'slot-zap-accounting', '--set', 'memslotFlush=zap-slot']);
  assert.equal(next.code, 0, next.stderr);
  assert.doesNotMatch(next.stdout, /partial/, next.stdout);
  assert.equal(process.listenerCount('SIGINT'), 0, 'the call took its SIGINT handler away');
});

test("run table: the APIC-access page's sums say what compare's text and the pages say (a probe: 'APIC re-requesting/request to entry  1.82ms / 4.15ms (sums over vCPUs)' beside compare's 'APIC time re-requesting (sum)', the page's 'time re-requesting (summed over vCPUs)')", async () => {
  const dir = tempDir('mmulab-run-table-apic-');
  const json = join(dir, 'r.json');
  const r = await captured(['run', 'apic-page-reload', '--json', json]);
  assert.equal(r.code, 0, r.stderr);
  const apic = (JSON.parse(readFileSync(json, 'utf8')) as { metrics: { apic: { stalledNs: number; requestToEntryNs: number } } }).metrics.apic;
  assert.ok(apic.stalledNs > 0 && apic.requestToEntryNs > 0, JSON.stringify(apic));
  assert.equal(value(r.stdout, 'APIC time re-requesting (sum)'), fmtNs(apic.stalledNs));
  assert.equal(value(r.stdout, 'APIC request to next VM-entry (sum)'), fmtNs(apic.requestToEntryNs));
  assert.doesNotMatch(r.stdout, /request to entry|sums over vCPUs/);
  // compare's text rows, by the same words.
  const c = await captured(['compare', 'apic-page-reload', '--vary', 'apicAccessPage=retry,invalidate-range']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^APIC time re-requesting \(sum\) {2,}\S+ +-$/m);
  assert.match(c.stdout, /^APIC request to next VM-entry \(sum\) {2,}\S+ +\S+$/m);
});
