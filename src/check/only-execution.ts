/**
 * Tells a world of one execution by its first: when execution 0 never had two
 * threads eligible at a choice nor a draw of more than one value, every
 * execution is that one (the model is deterministic given its choices and
 * draws, as replay relies on). The sampling strategies (pct, random) then stop,
 * exhausted, rather than run it again and again (auto ran it 20,000 times
 * before its levels; random ran until interrupted). Any choice, of a thread or
 * of a draw, however late, and they sample as before. Execution 0 is run by
 * every part of a striped or sharded run, so all parts stop alike.
 */
export class OnlyExecution {
  private index = 0;
  /** The execution under way had a choice. */
  private chose = false;
  /** Execution 0 had none: it is the only one there is. */
  found = false;

  /** An execution begins; false when the only one has been run. */
  begin(index: number): boolean {
    if (this.found) return false;
    this.index = index;
    this.chose = false;
    return true;
  }

  /** A choice among `n` threads or `n` drawn values. */
  among(n: number): void {
    if (n > 1) this.chose = true;
  }

  end(): void {
    if (this.index === 0 && !this.chose) this.found = true;
  }
}
