import type { LogLine } from '../runtime/instance.js';
import { describeEvent, type KvmEvent, type Sink } from '../kvm/events.js';

/** Keeps every event as a line in kernel terms, for counterexamples and replays. */
export class StepLog implements Sink {
  readonly lines: LogLine[] = [];
  on(ev: KvmEvent): void {
    this.lines.push({ step: ev.step, thread: ev.tid, timeNs: ev.ts, text: describeEvent(ev) });
  }
}
