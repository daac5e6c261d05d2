import { type Counterexample, type InstanceFactory, ReplayDivergence } from '../check/index.js';
import type { Sink } from '../kvm/events.js';
import { ReportRecorder } from '../report/index.js';
import { replayRecorded } from './cex-outputs.js';
import { recorderOnError } from './output-failure.js';

/**
 * `replay --without-mutant` that met no violation: replays the schedule once
 * more with the trace and log sinks attached, as far as the model without the
 * mutant follows it, and writes `--trace` and `--ftrace` of that run (to diff
 * against the mutant's), `outcome` in their headers. A file the system refuses
 * is told to `onUnwritten`, as writeCexOutputs does.
 */
export function writeHeldOutputs(
  model: (sinks: () => Sink[]) => InstanceFactory,
  origin: Pick<Counterexample, 'scenario' | 'mutant' | 'strategy' | 'limits' | 'schedule'>,
  files: { trace?: string; ftrace?: string },
  outcome: string,
  onUnwritten: (line: string) => void,
): void {
  if (!files.trace && !files.ftrace) return;
  const rec = new ReportRecorder({ trace: !!files.trace, ftrace: !!files.ftrace, series: false, title: `${origin.scenario} replay without the mutant` });
  try {
    replayRecorded(model, origin, rec);
  } catch (e) {
    // Where the model without the mutant leaves the schedule, or the schedule runs out: what ran is the run.
    if (!(e instanceof ReplayDivergence)) throw e;
  }
  rec.writeHeld(files, { scenario: origin.scenario, mutant: origin.mutant, strategy: origin.strategy }, outcome, recorderOnError(onUnwritten));
}
