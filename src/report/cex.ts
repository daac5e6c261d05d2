/**
 * A counterexample as the checker writes it (format 'mmulab-cex/N': the report reads only its steps, the same in every version), reduced
 * to what the reports read. Fields the checker adds later are ignored.
 */
export interface CounterexampleView {
  format: string;
  /** Scenario name. */
  scenario: string;
  /** Settings in effect. */
  settings: Record<string, unknown>;
  /** Protocol deviation applied, or null. */
  mutant: string | null;
  seed: number;
  /** Strategy that found it ('dfs', 'pct', 'random', ...). */
  strategy: string;
  /** The property that broke. */
  property: string;
  /** The violation as the oracle reported it. */
  violation: { kind: string; thread: string; step: number; message: string; timeNs?: number };
  /** The schedule that replays it: thread chosen at each step, and the draws. */
  schedule: { choices: number[]; draws: number[] };
  /** The interleaving in kernel terms: what each step did, by thread (name, or id into `threads`). */
  steps: { step: number; thread: string | number; text: string; timeNs?: number }[];
  /** Thread names by id, when steps give ids. */
  threads?: string[];
}

/** Reads a parsed counterexample file, or says what is wrong with it. */
export function asCounterexample(data: unknown): CounterexampleView {
  const d = data as Partial<CounterexampleView> | null;
  if (d === null || typeof d !== 'object') throw new Error('counterexample: expected a JSON object');
  if (typeof d.format !== 'string' || !d.format.startsWith('mmulab-cex/'))
    throw new Error(`counterexample: format is ${JSON.stringify(d.format)}, expected "mmulab-cex/" and a version`);
  if (!Array.isArray(d.steps)) throw new Error('counterexample: no steps');
  if (d.violation === undefined || d.violation === null) throw new Error('counterexample: no violation');
  return d as CounterexampleView;
}
