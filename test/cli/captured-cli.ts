import assert from 'node:assert/strict';
import { cli } from './in-process-cli.js';

/**
 * The CLI in this process with `args`, what it printed on stdout too (cli
 * gives its exit code and stderr). `during`, when given, runs once the command
 * has checked its outputs and started its work: the checks, and the start of
 * a worker, run before any timer (for a command that works on this thread
 * alone, replay and merge, it runs only once the command is done).
 */
export async function captured(args: string[], during?: () => void): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  const write = process.stdout.write;
  // The CLI writes strings; the test runner's own messages (buffers) go through.
  process.stdout.write = ((s: string | Uint8Array, ...rest: never[]) => {
    if (typeof s !== 'string') return write.call(process.stdout, s, ...rest);
    stdout += s;
    return true;
  }) as typeof process.stdout.write;
  try {
    const running = cli(...args);
    if (during) setTimeout(during, 0);
    const r = await running;
    return { ...r, stdout };
  } finally {
    process.stdout.write = write;
  }
}

/** The printed interleaving and verdict of a check or replay: its numbered event lines and the => line. */
export function story(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^ *\d+\. |^=> /.test(l));
}

/**
 * A counterexample's story shows `shows` in this order, each after the one
 * before, and the last of them is the step right before the => line. For a
 * property judged at the end of the run (lost-dirty-write), `atEnd` instead:
 * the rest of the run follows the last of them, no step of it matching
 * `atEnd.none` (what would have undone the violation).
 */
export function assertStoryInOrder(lines: readonly string[], shows: readonly RegExp[], atEnd?: { none: RegExp }): void {
  let from = 0;
  for (const re of shows) {
    const i = lines.findIndex((l, k) => k >= from && re.test(l));
    assert.ok(i >= 0, `${re} after line ${from + 1}:\n${lines.join('\n')}`);
    from = i + 1;
  }
  if (atEnd === undefined) {
    assert.equal(from, lines.length - 1, 'the violation comes right after the last step shown');
    return;
  }
  const rest = lines.slice(from, -1);
  assert.ok(!rest.some((l) => atEnd.none.test(l)), `after line ${from}, nothing matches ${atEnd.none}:\n${lines.join('\n')}`);
}

/** A bare `check <scenario>` (auto, up to bound 2) exits 0, its search exhausted, with the bounded verdict. */
export async function assertDefaultCheckExhausts(scenario: string): Promise<void> {
  const r = await captured(['check', scenario]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^auto: [\d,]+ executions \(exhausted\)/);
  // A world that draws says its verdict covers the seed's draws (drawsNote).
  assert.match(r.stdout, /\nno violation: every interleaving with at most 2 preemptions was run(?:, with the random choices of --seed 1 \(below\))?\n/);
}
