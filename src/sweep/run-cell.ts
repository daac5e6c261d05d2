import { variantScenario } from '../cli/variants.js';
import type { Settings } from '../kvm/settings.js';
import type { Scenario } from '../scenario/schema.js';
import type { ScenarioSize } from '../scenario/size.js';
import type { RunResult } from '../simulate/result.js';
import { simulate } from '../simulate/simulate.js';

/** Runs one cell of a sweep; the same code in a worker and in the main thread. */
export function runCell(
  scenario: Scenario,
  cell: { settings: Settings; size?: ScenarioSize; seed: number },
  mutant: string | null,
  maxSteps?: number,
  interrupted?: () => boolean,
): RunResult {
  return simulate(variantScenario(scenario, cell), {
    settings: cell.settings,
    mutant,
    seed: cell.seed,
    maxSteps,
    interrupted,
    wallClock: () => performance.now(),
  });
}
