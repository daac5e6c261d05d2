import { type Counterexample, type InstanceFactory, ReplayStrategy, runOnce } from '../check/index.js';
import type { Sink } from '../kvm/events.js';
import { ReportRecorder } from '../report/index.js';
import { recorderOnError } from './output-failure.js';

/**
 * Replays a counterexample once more with report sinks attached (on the model
 * `model` builds), and writes the files asked for; the HTML page shows
 * `replayCommand` (none when null). A file the system refuses is told to
 * `onUnwritten` (one line, outputFailure) and the others are still written;
 * without it, the error is thrown.
 */
export function writeCexOutputs(
  model: (sinks: () => Sink[]) => InstanceFactory,
  cex: Counterexample,
  files: { trace?: string; ftrace?: string; report?: string },
  replayCommand: string | null,
  onUnwritten?: (line: string) => void,
): void {
  if (!files.trace && !files.ftrace && !files.report) return;
  const rec = new ReportRecorder({ trace: !!files.trace, ftrace: !!files.ftrace, series: false, title: `${cex.scenario} counterexample` });
  replayRecorded(model, cex, rec);
  rec.writeCounterexample(files, cex, replayCommand === null ? {} : { replayCommand }, recorderOnError(onUnwritten));
}

/**
 * Runs `origin`'s schedule once on the model `model` builds, with `rec`'s sinks
 * attached to the instance, for the files it then writes. Throws what the
 * replay throws (ReplayDivergence where the model leaves the schedule).
 */
export function replayRecorded(
  model: (sinks: () => Sink[]) => InstanceFactory,
  origin: Pick<Counterexample, 'limits' | 'schedule'>,
  rec: ReportRecorder,
): void {
  const factory = model(() => rec.sinks);
  runOnce(
    (o) => {
      const inst = factory(o);
      rec.attach(inst as Parameters<ReportRecorder['attach']>[0]);
      return inst;
    },
    new ReplayStrategy(origin.schedule),
    origin.limits,
    true,
  );
}
