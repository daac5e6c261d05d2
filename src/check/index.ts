/**
 * The checker: explores the interleavings of a model (bounded DFS with
 * partial-order reduction, PCT, random walks), minimises a counterexample and
 * replays it. It knows nothing of KVM: it drives any Instance from a factory.
 */
export { type AuditFinding, type AuditOptions, auditFootprints } from './audit.js';
export { type BoundLevel, BoundLevels, type LevelPhase } from './bound-levels.js';
export { type CheckOptions, type CheckResult, type CounterexampleResult, check, checkResult, counterexampleOf, type Findings, findingsOf } from './check.js';
export {
  buildCounterexample,
  CEX_FORMAT,
  type CexOrigin,
  type CexStep,
  type Counterexample,
  counterexampleOfRun,
  describeOp,
  formatInterleaving,
  loggedSteps,
  numberedSteps,
  parseCounterexample,
  replayCounterexample,
  stepsOf,
} from './counterexample.js';
export { type DfsOptions, type DfsSplit, type DfsStats, DfsStrategy, type DrawMode, MAX_DRAW_BRANCH, type PorMode } from './dfs.js';
export { CheckerError, NondeterministicModel, ReplayDivergence, ScheduleRanOut } from './errors.js';
export { Execution, type Outcome } from './execution.js';
export {
  type Calibrated,
  DEFAULT_MAX_STEPS,
  type ExploreOptions,
  type ExploreResult,
  explore,
  runLimits,
  type SelfSharding,
} from './explore.js';
export type { InstanceFactory, InstanceOptions } from './factory.js';
export { IterativeBoundStrategy, levelOptions } from './iterative-bound.js';
export { type Figures, figuresUpTo, Ledger, type LedgerEntry, type PartRecord } from './ledger.js';
export { combineStriped, type ExplorePart, type MergedParts, type MergeGap, mergeParts, PartsOverlap } from './merge.js';
export { type CexSize, type MinimiseOptions, type MinimiseResult, minimise } from './minimise.js';
export { type ModelBugReport, modelBugMessage } from './model-bug-report.js';
export { PctStrategy } from './pct.js';
export { type Phase, PortfolioStrategy } from './portfolio.js';
export { type Progress, type ProgressSink, type ProgressStream, ttyProgress } from './progress.js';
export { RandomStrategy } from './random.js';
export { ReplayStrategy } from './replay.js';
export { type RunLimits, runOnce, type SingleRun } from './run.js';
export { decodeSchedule, encodeSchedule } from './schedule-codec.js';
export { ownedBelow, owns, type Shard, subShard } from './shard.js';
export type { RetryRule, SpinProgress } from './spin.js';
export { AUTO_PCT, makeStrategy, SHARED_STATES_PREFIXES, STRATEGY_NAMES, type StrategySpec, splitPrefixes } from './strategies.js';
export type { Strategy } from './strategy.js';
export { formatBoundLevels, formatSummary, type StopReason, type Summary } from './summary.js';
