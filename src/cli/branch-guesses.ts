import type { Branch } from '../check/branch.js';
import { sameBranch } from '../check/branch-rounds.js';
import type { BranchReply, BranchTask } from './branch-workers.js';

/** Guesses a run explores at most (each has a slot of the workers' shared flags to be called off by). */
export const MAX_GUESSES = 64;

/** The slot of the workers' shared flags (an Int32Array) that calls off guess `i`: after SIGINT's and a violation's. */
const slotOf = (i: number) => 2 + i;

/** A guess being explored: the branch, and the reply its worker will give. */
interface Guess {
  branch: Branch;
  reply: Promise<BranchReply>;
  slot: number;
}

/**
 * Branches of round 1 explored on a guess while the root branch (round 0)
 * runs alone: every other branch is asked for by what some branch finds, so
 * the other workers would wait (0.43 s of 3.3 s on two workers at 3x2x1 with
 * bound 2). The guesses (guessRoundOne) are what the root branch's first
 * execution asks for. Once round 0 is done, a guess that is a branch asked
 * for (same prefix, tried and spun) stands for it: a branch's outcome does
 * not depend on who explores it or when, so the result is the same as without
 * guesses. The others are called off, and their outcomes never counted.
 */
export class GuessedBranches {
  /** Guesses explored or being explored, and not yet taken or called off, by prefix. */
  private readonly explored = new Map<string, Guess>();
  private next = 0;
  /** Round 1 is known: no more guesses. */
  private known = false;
  /** When the first guess was begun (ms since the epoch), or +Infinity. */
  firstStart = Number.POSITIVE_INFINITY;

  constructor(
    private readonly guesses: readonly Branch[],
    private readonly flags: Int32Array,
  ) {}

  /** Explores guesses on one worker (`ask`), one after another, until round 1 is known. */
  async explore(ask: (task: BranchTask) => Promise<BranchReply>, depth: number): Promise<void> {
    while (!this.known && this.next < Math.min(this.guesses.length, MAX_GUESSES)) {
      const i = this.next++;
      const branch = this.guesses[i]!;
      const reply = ask({ kind: 'branch', branch, depth, cancel: slotOf(i) });
      // A guess called off, or one that failed and is never taken, is not waited for.
      reply.catch(() => {});
      this.explored.set(branch.prefix.join(','), { branch, reply, slot: slotOf(i) });
      const r = await reply.catch(() => null);
      if (r?.kind === 'branch' && r.startedAt < this.firstStart) this.firstStart = r.startedAt;
    }
  }

  /**
   * Round 0 is done: `asked` gives the branch asked for under a prefix (none
   * when none is). Guesses that are no such branch are called off.
   */
  roundOneKnown(asked: (key: string) => Branch | undefined): void {
    this.known = true;
    for (const [key, g] of this.explored) {
      const b = asked(key);
      if (b !== undefined && sameBranch(g.branch, b)) continue;
      Atomics.store(this.flags, g.slot, 1);
      this.explored.delete(key);
    }
  }

  /** The reply of the guess that is `b` (explored or being explored), or undefined; taken once. */
  take(b: Branch): Promise<BranchReply> | undefined {
    const key = b.prefix.join(',');
    const g = this.explored.get(key);
    if (g === undefined || !this.known || !sameBranch(g.branch, b)) return undefined;
    this.explored.delete(key);
    return g.reply;
  }
}
