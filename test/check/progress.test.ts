import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfsStrategy } from '../../src/check/dfs.js';
import { explore } from '../../src/check/explore.js';
import { type Progress, ttyProgress } from '../../src/check/progress.js';
import { formatSummary } from '../../src/check/summary.js';
import { seqProtocol } from './toys.js';

test('progress goes to a terminal only, as one line rewritten in place', () => {
  const written: string[] = [];
  assert.equal(ttyProgress({ isTTY: false, write: (s) => written.push(s) }), null);
  const sink = ttyProgress({ isTTY: true, write: (s) => written.push(s) });
  assert.ok(sink !== null);
  sink.update({ strategy: 'dfs', executions: 12345, executionsPerSec: 6789.4, depth: 40, elapsedMs: 1820 });
  sink.end();
  assert.equal(written[0], '\r\x1b[Kdfs: 12,345 executions, 6,789/s, depth 40, 1.8 s');
  assert.equal(written[1], '\r\x1b[K');
});

test('explore reports progress at the interval it is given, then ends it (fake clock)', () => {
  let now = 0;
  const seen: Progress[] = [];
  let ended = 0;
  const r = explore(seqProtocol(1, 2, 2), new DfsStrategy(), {
    clock: () => (now += 1),
    progress: { update: (p) => seen.push(p), end: () => ended++ },
    progressIntervalMs: 10,
  });
  assert.equal(r.summary.exhausted, true);
  assert.ok(seen.length > 0);
  assert.equal(ended, 1);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.executions > seen[i - 1]!.executions);
  assert.ok(seen.every((p) => p.depth > 0 && p.executionsPerSec > 0));
});

test('the time limit stops an exploration (fake clock), and the summary says so', () => {
  let now = 0;
  const r = explore(seqProtocol(2, 2, 2), new DfsStrategy(), { clock: () => (now += 10), timeLimitMs: 5000 });
  assert.equal(r.summary.stoppedBy, 'time-limit');
  assert.equal(r.summary.exhausted, false);
  assert.match(formatSummary(r.summary), /^dfs: [\d,]+ executions \(time-limit\), max depth \d+, /);
});

test('the summary line counts one execution in the singular (a probe: "auto: 1 executions (violation)"), and groups thousands as the progress line does', () => {
  const one = {
    strategy: 'pct',
    executions: 1,
    exhausted: false,
    stoppedBy: 'violation',
    maxDepth: 46,
    truncated: 0,
    redundant: 0,
    wallMs: 13,
    executionsPerSec: 78,
    firstCounterexampleMs: 13,
    violationExecution: 0,
  } as const;
  assert.match(formatSummary(one), /^pct: 1 execution \(violation\), /);
  assert.match(formatSummary({ ...one, executions: 2 }), /^pct: 2 executions \(violation\), /);
  // Thousands grouped, as the progress line groups them (a probe: 'auto: 36984 executions' after a progress line of 36,984).
  assert.match(
    formatSummary({ ...one, executions: 36_984, executionsPerSec: 12_345.4, redundant: 3_323 }),
    /^pct: 36,984 executions \(violation\), max depth 46, 0\.01 s, 12,345 exec\/s, 3,323 redundant, /,
  );
});
