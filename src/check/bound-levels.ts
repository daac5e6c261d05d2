/** One level of an iterative preemption bound: what ran with at most `preemptionBound` preemptions. */
export interface BoundLevel {
  /** Most preemptions per execution at this level; null for a try of the whole space, with DPOR and sleep sets. */
  preemptionBound: number | null;
  /** Executions run at this level (those of the levels below run again). */
  executions: number;
  /** The DFS within the bound (without one, for a try) finished (bounded DPOR's coverage: README). */
  exhausted: boolean;
}

/** What runs next: a DFS within `preemptionBound`, or (null) a try of the whole space for at most `budget` executions. */
export type LevelPhase = { preemptionBound: number } | { preemptionBound: null; budget: number };

/**
 * The order of the levels of an iterative preemption bound (see
 * IterativeBoundStrategy, which runs them in one exploration, and the CLI,
 * which runs each on its workers): bound 0; after each bounded level, a try
 * of the whole space for as many executions as that level took; after a try
 * that did not finish, the next bound. It ends after a try that finished, a
 * level that did not (a limit), a level whose bound cut nothing (it was the
 * whole space) and the level of `maxBound`.
 */
export class BoundLevels {
  /** What ran at each level so far, the current one last. */
  readonly levels: BoundLevel[] = [];
  private bound = 0;
  private over = false;

  constructor(private readonly maxBound = Number.POSITIVE_INFINITY) {
    this.levels.push({ preemptionBound: 0, executions: 0, exhausted: false });
  }

  /** The phase running now, or null once the levels are over. */
  phase(): LevelPhase | null {
    if (this.over) return null;
    const cur = this.current;
    if (cur.preemptionBound !== null) return { preemptionBound: cur.preemptionBound };
    return { preemptionBound: null, budget: this.levels[this.levels.length - 2]!.executions };
  }

  /** Whether the current phase may run one more execution: a try stops at its budget. */
  mayRun(): boolean {
    const p = this.phase();
    return p !== null && (p.preemptionBound !== null || this.current.executions < p.budget);
  }

  /** Counts an execution of the current phase. */
  count(executions = 1): void {
    this.current.executions += executions;
  }

  /**
   * Ends the current phase, which stopped on its own (not at a violation or
   * a limit): `exhausted` when it ran its whole space, `boundCut` when its
   * bound kept a thread from running. Returns the next phase, or null.
   */
  end(exhausted: boolean, boundCut: boolean): LevelPhase | null {
    const cur = this.current;
    cur.exhausted = exhausted;
    if (cur.preemptionBound === null) {
      // A try that finished within its budget ran the whole space.
      if (exhausted) this.over = true;
      else this.open(this.bound + 1);
    } else if (!exhausted || !boundCut || this.bound >= this.maxBound) {
      this.over = true;
    } else {
      this.levels.push({ preemptionBound: null, executions: 0, exhausted: false });
    }
    return this.phase();
  }

  /** True once the last level ran its whole space: the whole space (or every execution within maxBound) was run. */
  exhausted(): boolean {
    return this.over && this.current.exhausted;
  }

  private get current(): BoundLevel {
    return this.levels[this.levels.length - 1]!;
  }

  private open(bound: number): void {
    this.bound = bound;
    this.levels.push({ preemptionBound: bound, executions: 0, exhausted: false });
  }
}
