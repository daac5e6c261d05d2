import { describeEvent, type EventStamp, type KvmEvent, type Sink } from '../kvm/events.js';
import type { LogLine } from '../runtime/instance.js';

/**
 * Keeps every event as a line in kernel terms, for counterexamples and replays,
 * up to the one a violation was found on. The oracle reads each event before
 * this log does: the first event seen with a violation recorded is the one that
 * broke the property, and it ends the log. What the same step did after it
 * (the vCPU leaving the guest it entered on a bad root) would read as if it
 * came before the violation, under the line that reports it.
 */
export class StepLog implements Sink {
  readonly lines: LogLine[] = [];
  private ended = false;

  constructor(private readonly violations: readonly unknown[]) {}

  on(ev: KvmEvent, at: EventStamp): void {
    if (this.ended) return;
    this.lines.push({ step: at.step, thread: at.tid, timeNs: at.ts, text: describeEvent(ev) });
    if (this.violations.length > 0) this.ended = true;
  }
}
