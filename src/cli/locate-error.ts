import { fieldPosition } from '../scenario/field-location.js';
import { loadedScenarioFiles } from '../scenario/load.js';
import { counterexampleGivenAsScenario } from './cex-input.js';

/**
 * Bad input found once a scenario file was read and validated (by the limits,
 * the model, the checker's rules) names the file and a field but has no line:
 * 'x.yaml: vm.memslots: …', or 'x.yaml (vcpus=4): vm.memslots: …' for a
 * variant of compare or sweep. Located as the schema's messages are, it
 * becomes 'x.yaml:1:16 vm.memslots: …' ('x.yaml:1:16 (vcpus=4) vm.memslots:
 * …'), the line and column of the field's value in the file (of the nearest
 * field written, for a default). Anything else, a field the file does not
 * write among them, is left as it is.
 */
export function locateInScenarioFile(message: string): string {
  const cex = counterexampleAsScenario(message);
  if (cex !== null) return cex;
  let best: { ref: string; text: string } | null = null;
  for (const [ref, text] of loadedScenarioFiles()) {
    if (message.startsWith(ref) && (best === null || ref.length > best.ref.length)) best = { ref, text };
  }
  if (best === null) return message;
  const m = /^( \([^()]*\))?: ([^\s:]+): /.exec(message.slice(best.ref.length));
  if (m === null) return message;
  const pos = fieldPosition(best.text, m[2]!);
  if (pos === null) return message;
  return `${best.ref}:${pos.line}:${pos.col}${m[1] ?? ''} ${message.slice(best.ref.length + m[0].length - m[2]!.length - 2)}`;
}

/**
 * A scenario file refused by the schema ('cex.json:2:3 format: unknown keys
 * 'format', 'scenario', …') that is a counterexample: said so, and how to
 * replay it ('replay cex.json --schedule S' takes a scenario with --schedule,
 * where the file form takes none). Null for any other message.
 */
function counterexampleAsScenario(message: string): string | null {
  const m = /^(.+?):\d+:\d+ /.exec(message);
  return m === null ? null : counterexampleGivenAsScenario(m[1]!);
}
