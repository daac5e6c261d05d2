import { encodeSchedule, type ModelBugReport, modelBugMessage, type SingleRun, stepsOf } from '../check/index.js';
import { plural } from '../report/plural.js';
import type { ModelBugJson } from './check-json.js';
import { type Replayable, replayCommandOf } from './replay-line.js';

/**
 * A model bug as check records it (--json): its message, the schedule of the
 * execution that threw, and the replay line that throws again. The line names
 * the scenario file when the check ran one (there is no counterexample file to
 * carry it). `world` is the check's: its scenario, --set list, mutant and limits.
 */
export function modelBugJson(bug: ModelBugReport, world: Omit<Replayable, 'schedule'>): ModelBugJson {
  return { message: bug.message, schedule: encodeSchedule(bug.schedule), replay: replayCommandOf({ ...world, schedule: bug.schedule }) };
}

/**
 * What check says of a model bug, on stderr, after its summary: the message,
 * then how to reproduce it. The schedule is the one found, not minimised: a
 * shorter one need keep no property, and one that threw another way would
 * hide the bug found.
 */
export function modelBugText(bug: ModelBugJson, steps: number): string {
  const head = `mmulab: model bug (not a protocol violation): ${bug.message}\n`;
  const found = `${plural(steps, 'step')}, as found: not minimised`;
  if (bug.replay === null) return `${head}mmulab: its limits are not ones a command line sets; its schedule (${found}): ${bug.schedule}\n`;
  return `${head}mmulab: reproduce it (${found}) with:\n  ${bug.replay}\n`;
}

/**
 * A replay that made the model throw, as replay prints it: the steps run (the
 * last is the one that threw) on stdout, then on stderr the line check printed
 * (modelBugMessage: the same, when it reproduces) and where it was thrown.
 */
export function replayedModelBug(run: SingleRun): { stdout: string; stderr: string } {
  const steps = stepsOf(run);
  const width = String(steps.length).length;
  const lines = steps.map((s, i) => `${String(i + 1).padStart(width)}. ${s.text.startsWith(`${s.thread}:`) ? s.text : `${s.thread}: ${s.text}`}`);
  lines.push(`=> model bug after ${run.schedule.choices.length} steps: ${modelBugMessage(run.error)}`);
  // The model's frames (those under the checker's loop are the same for every bug): where a developer starts looking.
  const all = run.error instanceof Error ? (run.error.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)) : [];
  const loop = all.findIndex((l) => /\brunExecution\b/.test(l));
  const frames = loop < 0 ? all : all.slice(0, loop);
  const where = frames.length > 0 ? `${frames.map((l) => `  ${l.trim()}`).join('\n')}\n` : '';
  return { stdout: `${lines.join('\n')}\n`, stderr: `mmulab: model bug (not a protocol violation): ${modelBugMessage(run.error)}\n${where}` };
}
