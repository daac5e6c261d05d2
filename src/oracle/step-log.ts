import { describeEvent, type EventStamp, type KvmEvent, type Sink } from '../kvm/events.js';
import type { LogLine } from '../runtime/instance.js';

/** Keeps every event as a line in kernel terms, for counterexamples and replays. */
export class StepLog implements Sink {
  readonly lines: LogLine[] = [];
  on(ev: KvmEvent, at: EventStamp): void {
    this.lines.push({ step: at.step, thread: at.tid, timeNs: at.ts, text: describeEvent(ev) });
  }
}
