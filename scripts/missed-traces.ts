// Lists the traces that DPOR misses: those that plain DFS (every schedule
// within the preemption bound) reaches and dfs does not, shortest first, each
// as the schedule of one execution that has it. For working on the README's
// coverage note. Usage (through tsx):
//   npx tsx scripts/missed-traces.ts <scenario> <bound|none> [--set k=v]... [--show N] [--plain-seconds S] [--random N] [--retries deferred|interleaved]
// <scenario> may also be a toy of test/check/toys.ts: seq:V,I,F (seqProtocol).
// Without a bound plain DFS rarely finishes: --plain-seconds stops it (its
// traces so far are still traces DPOR must reach once it is exhausted), and
// --random N adds the traces of N random walks (seed 1), which, unlike the
// first corner of a DFS tree, spread over all of it.
import { describeOp } from '../src/check/counterexample.js';
import { type DfsObserver, DfsStrategy, type PorMode } from '../src/check/dfs.js';
import type { Outcome } from '../src/check/execution.js';
import { explore } from '../src/check/explore.js';
import type { RetryRule } from '../src/check/spin.js';
import { TraceSet } from '../src/check/trace-set.js';
import { WatchedRandom } from '../src/check/watched-random.js';
import { factoryFor } from '../src/cli/check-factory.js';
import { parseRetries } from '../src/cli/retries-option.js';
import { seqProtocol } from '../test/check/toys.js';

const args = process.argv.slice(2);
const [ref, boundArg] = args;
if (ref === undefined || boundArg === undefined) {
  console.error(
    'usage: npx tsx scripts/missed-traces.ts <scenario|seq:V,I,F> <bound|none> [--set k=v]... [--show N] [--plain-seconds S] [--random N] [--retries R]',
  );
  process.exit(2);
}
const sets: string[] = [];
let show = 1;
let plainSeconds: number | undefined;
let randomWalks = 0;
let retries: RetryRule = 'deferred';
for (let i = 2; i < args.length; i += 2) {
  if (args[i] === '--set') sets.push(args[i + 1]!);
  else if (args[i] === '--show') show = Number(args[i + 1]);
  else if (args[i] === '--plain-seconds') plainSeconds = Number(args[i + 1]);
  else if (args[i] === '--random') randomWalks = Number(args[i + 1]);
  else if (args[i] === '--retries') retries = parseRetries(args[i + 1]!);
}
const bound = boundArg === 'none' ? undefined : Number(boundArg);
const toy = /^seq:(\d+),(\d+),(\d+)$/.exec(ref);
const factory = toy !== null ? seqProtocol(Number(toy[1]), Number(toy[2]), Number(toy[3])) : factoryFor(ref, sets, null);
const probe = factory({ log: false });
const names = probe.rt.objects.names;
const threadNames = probe.rt.threads.map((t) => t.name);

/** Every trace a strategy reaches, by key, with the schedule (as step lines) of the first execution that had it. */
class TraceLog implements DfsObserver {
  readonly set = new TraceSet();
  readonly first = new Map<number, string[]>();
  private steps: string[] = [];
  step(thread: number, op: number): void {
    this.steps.push(`${threadNames[thread] ?? thread}: ${describeOp(op, names)}`);
    this.set.step(thread, op);
  }
  end(outcome: Outcome): void {
    const key = this.set.end(outcome);
    if (key !== null && !this.first.has(key)) this.first.set(key, this.steps);
    this.steps = [];
  }
}

function dfsTraces(por: PorMode, timeLimitMs?: number): { log: TraceLog; exhausted: boolean } {
  const log = new TraceLog();
  const r = explore(factory, new DfsStrategy({ por, preemptionBound: bound, observer: log }), { timeLimitMs, retries });
  return { log, exhausted: r.summary.exhausted };
}

const plain = dfsTraces('none', plainSeconds === undefined ? undefined : plainSeconds * 1000);
const walks = new TraceLog();
if (randomWalks > 0) explore(factory, new WatchedRandom(1, walks), { maxExecutions: randomWalks, retries });
const dpor = dfsTraces('dpor');
const wanted = new Map([...plain.log.first, ...walks.first]);
const missed = [...wanted.entries()].filter(([k]) => !dpor.log.set.has(k)).map(([, s]) => s);
missed.sort((a, b) => a.length - b.length);
console.log(
  `plain DFS ${plain.log.set.size} traces (${plain.exhausted ? 'exhausted' : 'not exhausted'}), ` +
    (randomWalks > 0 ? `random walks ${walks.set.size} traces in ${randomWalks} executions, ` : '') +
    `dfs ${dpor.log.set.size} (${dpor.exhausted ? 'exhausted' : 'not exhausted'}), missed ${missed.length} of ${wanted.size}`,
);
for (const s of missed.slice(0, show)) console.log(`\n${s.map((line, i) => `${i}. ${line}`).join('\n')}`);
