import { describeEvent, type EventStamp, type KvmEvent, type Sink } from '../kvm/events.js';
import type { LogLine } from '../runtime/instance.js';
import type { RwLock } from '../runtime/rwlock.js';
import type { Thread } from '../runtime/thread.js';
import { gupHolders, heldFreeNote } from './gup-refs.js';
import { LineJoin, reRequestText } from './line-join.js';
import { LOCK_NOTE_SEP, LockNotes } from './lock-notes.js';

/** What the step log needs of the model to write mmu_lock's operations: the lock, and the threads that take it. */
export interface LockedModel {
  readonly mmuLock: RwLock;
  readonly rt: { readonly threads: readonly Thread[] };
  /** Who holds a page reference get_user_pages took (Vcpu.gupPfn), for a host free of it. */
  readonly vcpus: readonly { readonly id: number; readonly gupPfn: number }[];
}

/**
 * An event's text without the host operation's kind it starts with ("migrate: free pfn 0x1000")
 * when the thread's name already says it (migrate, migrate0.0, apic-migrate): the story prints
 * the name before every line, and "migrate0.0: migrate: ..." said it twice. A thread whose name
 * does not say it (a vmm migrating) keeps it.
 */
export function withoutOwnKind(said: string, thread: string | undefined): string {
  const kind = OWN_KIND.exec(said)?.[1];
  return kind !== undefined && thread?.includes(kind) ? said.slice(kind.length + 2) : said;
}

/** Whether a lock operation's text is an acquisition (read_lock, write_lock). */
function isAcquire(text: string): boolean {
  return /^(?:read|write)_lock\(/.test(text);
}

/** The host operations (InvalidationKind) whose events' texts start with their kind. */
const OWN_KIND = /^(reclaim|migrate|numa|ksm): /;

/**
 * Keeps every event as a line in kernel terms, for counterexamples and replays,
 * up to the one a violation was found on. The oracle reads each event before
 * this log does: the first event seen with a violation recorded is the one that
 * broke the property, and it ends the log. What the same step did after it
 * (the vCPU leaving the guest it entered on a bad root) would read as if it
 * came before the violation, under the line that reports it.
 *
 * Given the model, the lines also say where threads took and released
 * mmu_lock, which the protocol rests on (is_page_fault_stale runs under it,
 * the notifier's kvm_mmu_invalidate_begin and zap under it for write), still
 * with one line per event, by which the trace exporters number the steps
 * (report/step-clock.ts), but for an event it joins to the line before
 * (line-join.ts: a re-request's kvm_make_request and why, one line). An acquisition goes at the start of its thread's
 * next line, the work it guards ("vCPU0: read_lock(mmu_lock);
 * is_page_fault_stale ..."), after the thread's name when the event's text
 * starts with it, as a printed line names its thread once. A release goes at
 * the end of the last line when that line is its thread's ("migrate:
 * kvm_mmu_invalidate_range_add: ...; write_unlock(mmu_lock)"), with an
 * acquisition that found no line of its own before it, else at the start of
 * its thread's next line. That is where it happened, unless other threads' lines came
 * between it and its thread's next line (a critical section with no event of
 * its own: the model gives each section it prints an event, kvm_mmu_track_write's
 * or a lock break's resumed walk, so this is rare). So where an operation goes depends
 * on the other threads' steps: whoever compares what a thread did across
 * interleavings (the audit) compares the events alone (splitLockNotes).
 */
export class StepLog implements Sink {
  readonly lines: LogLine[] = [];
  private ended = false;
  /** Per thread id: lock operations made since the last line, which was another thread's, for the start of its next. */
  private readonly pending = new Map<number, string[]>();
  /** Per thread id: the line its latest printed acquisition of mmu_lock is on (for LockNotes' wait notes). */
  private readonly acquiredOn = new Map<number, number>();
  private readonly threads: readonly Thread[];
  private readonly vcpus: LockedModel['vcpus'];
  /** Which events go on the line before theirs (line-join.ts). */
  private readonly join = new LineJoin();
  /** The last line's event text, as it ends that line (before any release appended). */
  private lastSaid = '';

  constructor(
    private readonly violations: readonly unknown[],
    model?: LockedModel,
  ) {
    this.threads = model?.rt.threads ?? [];
    this.vcpus = model?.vcpus ?? [];
    if (model)
      new LockNotes(
        model.mmuLock,
        model.rt.threads,
        (tid, text) => this.lockOp(tid, text),
        () => this.lines.length,
        (tid) => (this.pending.get(tid)?.some(isAcquire) ? undefined : this.acquiredOn.get(tid)),
      );
  }

  on(ev: KvmEvent, at: EventStamp): void {
    if (this.ended) return;
    // The checker's threads each keep their own clock: a duration would depend on the order of
    // steps, not on the protocol, so a story says a zap is done, not in how long (run's log does).
    let said = ev.e === 'zapAllEnd' ? `${ev.how}: done` : withoutOwnKind(describeEvent(ev), this.threads[at.tid]?.name);
    // The model frees a page its invalidation zapped at once; the kernel's reclaim, when the last
    // reference goes, and its migration backs off (heldFate).
    if (ev.e === 'pfnFree') {
      const holders = gupHolders(this.vcpus, ev.pfn);
      if (holders.length > 0) said += heldFreeNote(holders, ev.kind);
    }
    const last = this.lines[this.lines.length - 1];
    if (this.join.joins(ev, at) && last !== undefined && ev.e === 'apicReload') {
      // One kvm_make_request, one line: the request's text, at the end of its line, said with why.
      const joined = reRequestText(ev.vcpu);
      last.text = last.text.endsWith(this.lastSaid) ? last.text.slice(0, last.text.length - this.lastSaid.length) + joined : last.text + LOCK_NOTE_SEP + said;
      this.lastSaid = joined;
    } else {
      this.lines.push({ step: at.step, thread: at.tid, timeNs: at.ts, text: this.text(said, at.tid) });
      this.lastSaid = said;
    }
    if (this.violations.length > 0) this.ended = true;
  }

  /** The event's text after the lock operations `tid` made since its last line, after the thread's name if it starts with it. */
  private text(said: string, tid: number): string {
    const ops = this.pending.get(tid);
    if (ops === undefined) return said;
    this.pending.delete(tid);
    if (ops.some(isAcquire)) this.acquiredOn.set(tid, this.lines.length + 1);
    const name = this.threads[tid]?.name;
    const own = name !== undefined && said.startsWith(`${name}: `) ? `${name}: ` : '';
    return own + ops.join(LOCK_NOTE_SEP) + LOCK_NOTE_SEP + said.slice(own.length);
  }

  /**
   * Places a lock operation (see the class comment). An acquisition waits for
   * the thread's next line, whose work it guards (a probe read `...; read_unlock;
   * read_lock` on one line, the read_lock belonging to the next); a release goes
   * at the end of the thread's last line, with any acquisition still waiting
   * (a critical section with no event of its own).
   */
  private lockOp(tid: number, text: string): void {
    if (this.ended) return;
    const ops = this.pending.get(tid);
    if (isAcquire(text)) {
      if (ops === undefined) this.pending.set(tid, [text]);
      else ops.push(text);
      return;
    }
    const last = this.lines[this.lines.length - 1];
    if (last !== undefined && last.thread === tid) {
      if (ops !== undefined) {
        this.pending.delete(tid);
        if (ops.some(isAcquire)) this.acquiredOn.set(tid, this.lines.length);
        last.text += LOCK_NOTE_SEP + ops.join(LOCK_NOTE_SEP);
      }
      last.text += LOCK_NOTE_SEP + text;
      return;
    }
    if (ops === undefined) this.pending.set(tid, [text]);
    else ops.push(text);
  }
}
