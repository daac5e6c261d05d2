import type { LockObserver, RwLock } from '../runtime/rwlock.js';
import type { Thread } from '../runtime/thread.js';

/** What separates the lock operations written into a step-log line from each other and from the event. */
export const LOCK_NOTE_SEP = '; ';

/**
 * A lock operation as a counterexample writes it, in the kernel's words:
 * `read_lock(mmu_lock)`, `write_unlock(mmu_lock)`, then what made it
 * noteworthy in parentheses (who held it, who waits for it).
 */
const NOTE = /^(?:read|write)_(?:un)?lock\([^)]*\)(?: \([^()]*\))?$/;

/** The thread's name at the start of an event's text, when lock operations follow it (see StepLog.text). */
const OWN = /^[^\s:;]+: (?=(?:read|write)_(?:un)?lock\()/;

/**
 * Splits a step-log line into the lock operations written before its event,
 * the event's own text, and the lock operations written after it (see
 * StepLog): for pages that show them apart, and for whoever compares what
 * threads did (the audit), which the lock operations' places do not change.
 * `own` is the thread's name the line starts with when the operations follow
 * it ("migrate: write_unlock(mmu_lock); invalidate_range_start returns"), ''
 * if none; `event` starts with it too.
 */
export function splitLockNotes(text: string): { own: string; before: string[]; event: string; after: string[] } {
  const own = OWN.exec(text)?.[0] ?? '';
  const parts = text.slice(own.length).split(LOCK_NOTE_SEP);
  let i = 0;
  while (i < parts.length - 1 && NOTE.test(parts[i]!)) i++;
  let j = parts.length;
  while (j - 1 > i && NOTE.test(parts[j - 1]!)) j--;
  return { own, before: parts.slice(0, i), event: own + parts.slice(i, j).join(LOCK_NOTE_SEP), after: parts.slice(j) };
}

/** What a thread found when it queued for the lock. */
interface Found {
  /** The lines printed by then (undefined: not counted). */
  line: number | undefined;
  /** The threads holding the lock, and whether for write. */
  holders: number[];
  write: boolean;
  /** The threads queued before it, not yet handed the lock. */
  ahead: number[];
}

/**
 * Watches a lock and tells `say` of each acquisition and release, with the
 * thread that made it, in kernel terms: "read_lock(mmu_lock)",
 * "write_unlock(mmu_lock)". An acquisition that had to wait says from which
 * line it waited, who held the lock then and who was queued first
 * ("write_lock(mmu_lock) (contended: waited from line 8 while vCPU0 held it
 * for read, its read_lock on line 9)"): it is printed at the thread's next line, and the holder may
 * have let go several lines before (a release hands the lock to the queue's
 * head at once), so it says what was, not what is. A release that leaves threads
 * waiting names them ("read_unlock(mmu_lock) (migrate waiting)"): the wait has
 * no event of its own to be told by.
 *
 * The lock has one observer slot: this one takes it and forwards everything to
 * the observer it found there. One set after it replaces it (StepClock's, in
 * the replay the trace files are written from, cli/cex-outputs.ts, whose step
 * log is not printed).
 */
export class LockNotes implements LockObserver {
  /** Threads queued for the lock, in order, each with what it found when it queued (found()). */
  private readonly waiting = new Map<number, Found>();
  /** The observer found in the lock's slot, told everything too. */
  private readonly next: LockObserver | null;

  constructor(
    private readonly lock: RwLock,
    /** The runtime's threads, by id. */
    private readonly threads: readonly Thread[],
    private readonly say: (tid: number, text: string) => void,
    /** The lines printed so far, for where a wait began (none: the note names no line). */
    private readonly linesSoFar?: () => number,
    /**
     * The line a thread's latest acquisition of the lock is printed on, undefined while it waits
     * for the thread's next line (none: the note names no holder's line).
     */
    private readonly acquiredOn?: (tid: number) => number | undefined,
  ) {
    this.next = lock.observer;
    lock.observer = this;
  }

  taken(t: number): void {
    this.say(t, `${this.lock.isWriteHeldBy(this.threads[t]!) ? 'write' : 'read'}_lock(${this.lock.name})`);
    this.next?.taken(t);
  }

  queued(t: number): void {
    this.waiting.set(t, this.found());
    this.next?.queued(t);
  }

  resumed(t: number, write: boolean): void {
    const found = this.waiting.get(t);
    this.waiting.delete(t);
    const said = found ? this.foundText(found) : '';
    this.say(t, `${write ? 'write' : 'read'}_lock(${this.lock.name}) (contended${said ? `: ${said}` : ''})`);
    this.next?.resumed(t, write);
  }

  released(t: number, write: boolean): void {
    const waiters = this.queuedNotHolding();
    this.say(t, `${write ? 'write' : 'read'}_unlock(${this.lock.name})${waiters.length > 0 ? ` (${this.names(waiters)} waiting)` : ''}`);
    this.next?.released(t, write);
  }

  /**
   * What a thread queuing finds: who holds the lock and how, and who queued
   * first. Read from the lock: a release hands it to the queue's head at once,
   * which holds it before it runs again to say so.
   */
  private found(): Found {
    const holders = this.threads.filter((th) => this.lock.isHeldBy(th));
    return {
      line: this.linesSoFar?.(),
      holders: holders.map((th) => th.id),
      write: holders.length > 0 && this.lock.isWriteHeldBy(holders[0]!),
      ahead: this.queuedNotHolding(),
    };
  }

  /**
   * What a thread found when it queued, in words, once it has the lock
   * ("waited from line 8 while vCPU0 held it for read, its read_lock on line 9"):
   * a holder's acquisition is printed at its next line, which may come after
   * the line the wait began at, so the note says where, lest the holder seem to
   * hold the lock before its line says it took it.
   */
  private foundText(f: Found): string {
    const n = f.line;
    const from = n === undefined ? 'waited' : n === 0 ? 'waited from the start' : `waited from line ${n}`;
    const op = `${f.write ? 'write' : 'read'}_lock`;
    let held = n === undefined ? '' : from;
    if (f.holders.length > 0) {
      held = `${from} while ${this.names(f.holders)} held it for ${f.write ? 'write' : 'read'}`;
      if (this.acquiredOn !== undefined) {
        const lines = f.holders.map((h) => this.acquiredOn!(h));
        const known = lines.filter((l) => l !== undefined);
        const one = f.holders.length === 1;
        if (known.length === lines.length) held += `, ${one ? `its ${op}` : `their ${op}s`} on line${known.length > 1 ? 's' : ''} ${known.join(', ')}`;
        else if (one) held += `, its ${op} printed with its next line`;
      }
    }
    return [held, f.ahead.length > 0 ? `${this.names(f.ahead)} queued first` : ''].filter((x) => x !== '').join(', ');
  }

  /** The queued threads not yet handed the lock, in order. */
  private queuedNotHolding(): number[] {
    return [...this.waiting.keys()].filter((w) => !this.lock.isHeldBy(this.threads[w]!));
  }

  private names(ids: readonly number[]): string {
    return ids.map((t) => this.threads[t]?.name ?? `thread${t}`).join(', ');
  }
}
