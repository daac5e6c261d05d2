import { type Counterexample, type InstanceFactory, ReplayDivergence } from '../check/index.js';
import type { Sink } from '../kvm/events.js';
import { type HeldView, ReportRecorder } from '../report/index.js';
import { replayRecorded } from './cex-outputs.js';
import { recorderOnError } from './output-failure.js';

/**
 * `replay --without-mutant` that met no violation: replays the schedule once
 * more with the report sinks attached, as far as the model without the
 * mutant follows it, and writes `--trace`, `--ftrace` and `--report` of that
 * run (to diff against the mutant's, to link in a mail), `held.outcome` in
 * their headers and on the page's banner. The page shows `replayCommand`
 * (none when null). A file the system refuses is told to `onUnwritten`, as
 * writeCexOutputs does.
 */
export function writeHeldOutputs(
  model: (sinks: () => Sink[]) => InstanceFactory,
  origin: Pick<Counterexample, 'strategy' | 'limits'>,
  held: HeldView,
  files: { trace?: string; ftrace?: string; report?: string },
  replayCommand: string | null,
  onUnwritten: (line: string) => void,
): void {
  if (!files.trace && !files.ftrace && !files.report) return;
  const rec = new ReportRecorder({ trace: !!files.trace, ftrace: !!files.ftrace, series: false, title: `${held.scenario} replay without the mutant` });
  try {
    replayRecorded(model, { limits: origin.limits, schedule: held.schedule }, rec);
  } catch (e) {
    // Where the model without the mutant leaves the schedule, or the schedule runs out: what ran is the run.
    if (!(e instanceof ReplayDivergence)) throw e;
  }
  rec.writeHeld(files, { ...held, strategy: origin.strategy }, replayCommand === null ? {} : { replayCommand }, recorderOnError(onUnwritten));
}
