import type { BranchOutcome } from './branch.js';
import { bit } from './thread-mask.js';

/**
 * What the branches of a DFS's top have tried at its nodes, each node keyed
 * by the choices before it (comma-separated): the threads (or values) tried
 * there, and, of the threads whose branch has told what its first step there
 * did, those a spin followed at once (Path.spinAfter). A thread tried but not
 * told yet counts as followed by a spin: it then only sleeps less.
 */
export class TopTried {
  private readonly tried = new Map<string, number>();
  private readonly told = new Map<string, number>();
  private readonly spun = new Map<string, number>();

  /** Notes what a finished branch's first execution chose at the nodes of the top. */
  add(o: Pick<BranchOutcome, 'top' | 'topSpins'>): void {
    // The key of node k, the choices before it (as top.slice(0, k).join(',')), grown node by node.
    let key = '';
    for (let k = 0; k < o.top.length; k++) {
      if (k > 0) key = k === 1 ? `${o.top[0]}` : `${key},${o.top[k - 1]}`;
      const b = bit(o.top[k]!);
      or(this.tried, key, b);
      or(this.told, key, b);
      if (o.topSpins[k] === 1) or(this.spun, key, b);
    }
  }

  /** The threads (or values) tried at node `key`. */
  at(key: string): number {
    return this.tried.get(key) ?? 0;
  }

  /** Notes that a thread (or value) of `mask` is now tried at node `key` (its branch is asked for). */
  addTried(key: string, mask: number): void {
    or(this.tried, key, mask);
  }

  /** Of the threads `mask` tried at node `key`: those a spin followed there, or whose branch has not told. */
  spunAt(key: string, mask: number): number {
    return mask & ((this.spun.get(key) ?? 0) | ~(this.told.get(key) ?? 0));
  }
}

function or(m: Map<string, number>, key: string, mask: number): void {
  m.set(key, (m.get(key) ?? 0) | mask);
}
