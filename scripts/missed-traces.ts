// Lists the traces that DPOR misses: those that plain DFS (every schedule
// within the preemption bound) reaches and dfs does not, shortest first, each
// as the schedule of one execution that has it. For working on the README's
// coverage note. Usage (through tsx):
//   npx tsx scripts/missed-traces.ts <scenario> <bound|none> [--set k=v]... [--show N] [--plain-seconds S]
// <scenario> may also be a toy of test/check/toys.ts: seq:V,I,F (seqProtocol).
// Without a bound plain DFS rarely finishes: --plain-seconds stops it (its
// traces so far are still traces DPOR must reach once it is exhausted).
import { describeOp } from '../src/check/counterexample.js';
import { DfsStrategy, type PorMode } from '../src/check/dfs.js';
import { explore } from '../src/check/explore.js';
import { TraceSet } from '../src/check/trace-set.js';
import { factoryFor } from '../src/cli/check-factory.js';
import { seqProtocol } from '../test/check/toys.js';

const args = process.argv.slice(2);
const [ref, boundArg] = args;
if (ref === undefined || boundArg === undefined) {
  console.error('usage: npx tsx scripts/missed-traces.ts <scenario|seq:V,I,F> <bound|none> [--set k=v]... [--show N] [--plain-seconds S]');
  process.exit(2);
}
const sets: string[] = [];
let show = 1;
let plainSeconds: number | undefined;
for (let i = 2; i < args.length; i += 2) {
  if (args[i] === '--set') sets.push(args[i + 1]!);
  else if (args[i] === '--show') show = Number(args[i + 1]);
  else if (args[i] === '--plain-seconds') plainSeconds = Number(args[i + 1]);
}
const bound = boundArg === 'none' ? undefined : Number(boundArg);
const toy = /^seq:(\d+),(\d+),(\d+)$/.exec(ref);
const factory = toy !== null ? seqProtocol(Number(toy[1]), Number(toy[2]), Number(toy[3])) : factoryFor(ref, sets, null);
const probe = factory({ log: false });
const names = probe.rt.objects.names;
const threadNames = probe.rt.threads.map((t) => t.name);

/** Every trace the DFS reaches, by key, with the schedule (as step lines) of the first execution that had it. */
function traces(por: PorMode, timeLimitMs?: number): { set: TraceSet; first: Map<number, string[]>; exhausted: boolean } {
  const set = new TraceSet();
  const first = new Map<number, string[]>();
  let steps: string[] = [];
  const r = explore(
    factory,
    new DfsStrategy({
      por,
      preemptionBound: bound,
      observer: {
        step(thread, op) {
          steps.push(`${threadNames[thread] ?? thread}: ${describeOp(op, names)}`);
          set.step(thread, op);
        },
        end(outcome) {
          const key = set.end(outcome);
          if (key !== null && !first.has(key)) first.set(key, steps);
          steps = [];
        },
      },
    }),
    { timeLimitMs },
  );
  return { set, first, exhausted: r.summary.exhausted };
}

const plain = traces('none', plainSeconds === undefined ? undefined : plainSeconds * 1000);
const dpor = traces('dpor');
const missed = [...plain.first.entries()].filter(([k]) => !dpor.set.has(k)).map(([, s]) => s);
missed.sort((a, b) => a.length - b.length);
console.log(
  `plain DFS ${plain.set.size} traces (${plain.exhausted ? 'exhausted' : 'not exhausted'}), dfs ${dpor.set.size} (${dpor.exhausted ? 'exhausted' : 'not exhausted'}), missed ${missed.length}`,
);
for (const s of missed.slice(0, show)) console.log(`\n${s.map((line, i) => `${i}. ${line}`).join('\n')}`);
