// Lists the traces that bounded DPOR misses: those that plain DFS (every
// schedule within the preemption bound) reaches and dfs does not, shortest
// first, each as the schedule of one execution that has it. For working on
// the README's coverage note. Usage (through tsx):
//   npx tsx scripts/missed-traces.ts <scenario> <bound> [--set k=v]... [--show N]
import { describeOp } from '../src/check/counterexample.js';
import { DfsStrategy, type PorMode } from '../src/check/dfs.js';
import { explore } from '../src/check/explore.js';
import { TraceSet } from '../src/check/trace-set.js';
import { factoryFor } from '../src/cli/check-factory.js';

const args = process.argv.slice(2);
const [ref, boundArg] = args;
if (ref === undefined || boundArg === undefined) {
  console.error('usage: npx tsx scripts/missed-traces.ts <scenario> <bound> [--set k=v]... [--show N]');
  process.exit(2);
}
const sets: string[] = [];
let show = 1;
for (let i = 2; i < args.length; i += 2) {
  if (args[i] === '--set') sets.push(args[i + 1]!);
  else if (args[i] === '--show') show = Number(args[i + 1]);
}
const factory = factoryFor(ref, sets, null);
const probe = factory({ log: false });
const names = probe.rt.objects.names;
const threadNames = probe.rt.threads.map((t) => t.name);

/** Every trace the DFS reaches, by key, with the schedule (as step lines) of the first execution that had it. */
function traces(por: PorMode): { set: TraceSet; first: Map<number, string[]> } {
  const set = new TraceSet();
  const first = new Map<number, string[]>();
  let steps: string[] = [];
  explore(
    factory,
    new DfsStrategy({
      por,
      preemptionBound: Number(boundArg),
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
  );
  return { set, first };
}

const plain = traces('none');
const dpor = traces('dpor');
const missed = [...plain.first.entries()].filter(([k]) => !dpor.set.has(k)).map(([, s]) => s);
missed.sort((a, b) => a.length - b.length);
console.log(`plain DFS ${plain.set.size} traces, dfs ${dpor.set.size}, missed ${missed.length}`);
for (const s of missed.slice(0, show)) console.log(`\n${s.map((line, i) => `${i}. ${line}`).join('\n')}`);
