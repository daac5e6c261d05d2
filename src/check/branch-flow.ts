import type { Branch, BranchOutcome } from './branch.js';
import { type Asked, type BranchesResult, BranchRounds, branchesResult, meetRequests } from './branch-rounds.js';
import { TopTried } from './top-tried.js';

/** A branch to explore: its prefix, and the round of BranchRounds it belongs to. */
export interface FlowBranch extends Branch {
  round: number;
  /** The prefix as nodePath gives it. */
  path: string;
}

/** Requests of one round at one node of the top, waiting to be met. */
interface Batch {
  round: number;
  node: string;
  /** The node as nodePath gives it. */
  path: string;
  requests: Asked[];
}

/**
 * The branches of BranchRounds, each started as soon as what asks for it is
 * settled rather than when its whole round is: a round waits on its biggest
 * branch, and early rounds often have one branch of thousands of executions
 * beside a few small ones. The requests of round r at a node are met (the
 * same way, in the same order as BranchRounds meets them) once no branch of
 * round r or earlier that is still running could ask for more there: one whose
 * prefix is that node's, an ancestor's or a descendant's. So the same branches
 * come out, whatever order they finish in; BranchRounds, replayed over the
 * outcomes, then gives the result.
 */
export class BranchFlow {
  /** What was tried at the nodes of the top. */
  private readonly tried = new TopTried();
  /** Requests not met yet, by `${round}|${node}`. */
  private readonly waiting = new Map<string, Batch>();
  /** Branches asked for and not finished, by key. */
  private readonly running = new Map<string, FlowBranch>();
  /** Branches asked for and not handed out yet, in the order asked for. */
  private readonly queue: FlowBranch[] = [{ prefix: [], tried: [], round: 0, path: '' }];
  /** Outcomes by branch key (its prefix, comma-separated). */
  readonly outcomes = new Map<string, BranchOutcome>();

  constructor() {
    this.running.set('', this.queue[0]!);
  }

  /** Set by abandon(): no branch is asked for any more. */
  private abandoned = false;

  /** The next branch to explore, or undefined when none is ready. */
  take(): FlowBranch | undefined {
    return this.queue.shift();
  }

  /** The branch asked for under `key` (its prefix, comma-separated) and not finished, or undefined. */
  asked(key: string): FlowBranch | undefined {
    return this.running.get(key);
  }

  /** True when every branch asked for has finished. */
  done(): boolean {
    return this.running.size === 0;
  }

  /** Takes the outcome of `b`, and asks for the branches that this settles. */
  finish(b: FlowBranch, o: BranchOutcome): void {
    const key = b.prefix.join(',');
    this.running.delete(key);
    this.outcomes.set(key, o);
    // Abandoned: the branches it would ask for will not run (they kept the workers busy past a time limit).
    if (this.abandoned) return;
    this.tried.add(o);
    for (const request of o.requests) {
      const node = request.at.join(',');
      const id = `${b.round}|${node}`;
      let batch = this.waiting.get(id);
      if (batch === undefined) {
        batch = { round: b.round, node, path: nodePath(node), requests: [] };
        this.waiting.set(id, batch);
      }
      batch.requests.push({ request, from: b.tried, fromSpun: b.spun ?? b.tried });
    }
    // Only batches at nodes on b's way (ancestors of its prefix, or below it) can have been waiting for b.
    const path = nodePath(key);
    this.settle([...this.waiting.values()].filter((w) => w.path.startsWith(path) || path.startsWith(w.path)));
  }

  /** Stops handing out branches: those not started will not finish. */
  abandon(): void {
    this.abandoned = true;
    for (const b of this.queue.splice(0)) this.running.delete(b.prefix.join(','));
  }

  /**
   * Meets the batches of `worklist` that nothing can add to any more, in
   * round order; meeting one can only free the next round's batch at its node
   * (the branches it asks for hold up nothing else: no batch waits below them).
   */
  private settle(worklist: Batch[]): void {
    worklist.sort((a, b) => a.round - b.round);
    for (let i = 0; i < worklist.length; i++) {
      const batch = worklist[i]!;
      const id = `${batch.round}|${batch.node}`;
      if (this.waiting.get(id) !== batch || this.blocked(batch)) continue;
      this.waiting.delete(id);
      const next = batch.round + 1;
      for (const branch of meetRequests(this.tried, batch.requests)) {
        const key = branch.prefix.join(',');
        const b = { ...branch, round: next, path: nodePath(key) };
        this.queue.push(b);
        this.running.set(key, b);
      }
      for (const w of this.waiting.values()) if (w.node === batch.node && w.round > batch.round && !worklist.includes(w)) worklist.push(w);
    }
  }

  /** True while a branch of the batch's round or earlier could still ask for something at its node, or an earlier batch there waits. */
  private blocked(batch: Batch): boolean {
    for (const w of this.waiting.values()) if (w.round < batch.round && w.node === batch.node) return true;
    const node = batch.path;
    for (const b of this.running.values()) {
      if (b.round > batch.round) continue;
      if (node.startsWith(b.path) || b.path.startsWith(node)) return true;
    }
    return false;
  }
}

/**
 * The result: BranchRounds replayed over the outcomes, which gives the same
 * branches in its order (the flow only ran them sooner). Every branch it asks
 * for has an outcome, up to the one that stops it, unless the run was cut short.
 */
export function flowResult(flow: BranchFlow, depth: number, wallMs: number, abandoned: boolean): BranchesResult {
  const rounds = new BranchRounds();
  for (let round = rounds.next(); round.length > 0; round = rounds.next()) {
    const outcomes = round.map((b) => flow.outcomes.get(b.prefix.join(',')));
    const missing = outcomes.indexOf(undefined);
    if (missing >= 0 && !abandoned && !outcomes.slice(0, missing).some((o) => o!.stoppedBy !== 'exhausted')) {
      throw new Error(`dfs branches: branch ${round[missing]!.prefix.join(',')} of round ${rounds.rounds} was never explored`);
    }
    rounds.settle(outcomes);
  }
  const stop = rounds.stop;
  const r = branchesResult(rounds, depth, wallMs, null);
  if (abandoned && stop === null) {
    // Cut short (a limit, SIGINT), the rounds stop at the first branch that did
    // not run; the figures are what did, in whatever order (as a partial run's are).
    const s = r.summary;
    s.executions = s.maxDepth = s.truncated = s.redundant = 0;
    for (const o of flow.outcomes.values()) {
      s.executions += o.executions;
      s.truncated += o.truncated;
      s.redundant += o.redundant;
      if (o.maxDepth > s.maxDepth) s.maxDepth = o.maxDepth;
    }
    s.executionsPerSec = (s.executions * 1000) / Math.max(wallMs, 1e-3);
  }
  return r;
}

/** Choices as a string in which being a prefix is being a prefix of the choices. */
function nodePath(key: string): string {
  return key === '' ? '' : `${key},`;
}
