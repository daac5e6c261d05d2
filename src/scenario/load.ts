import { closeSync, openSync, readdirSync, readFileSync, readSync, type Stats, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { cannotRead } from './errno-words.js';
import { keysAt, meantKey } from './expected-keys.js';
import { nodeAt } from './field-location.js';
import { InputError } from './input-error.js';
import { bound, isMissing, typeWords } from './issue-words.js';
import { notJson } from './json-input.js';
import { segment, unknownKeysWords } from './key-words.js';
import { type Scenario, scenarioSchema } from './schema.js';

/** Folder of the built-in scenarios shipped with the package. */
export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');

function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      // What the schema has there, as counterexamples and --vary list theirs; the key most likely meant first.
      const keys = keysAt(scenarioSchema, issue.path);
      return keys === undefined
        ? unknownKeysWords(issue.keys)
        : unknownKeysWords(issue.keys, { keys, meant: meantKey(scenarioSchema, issue.path, issue.keys[0]!) });
    }
    case 'invalid_type': {
      const words = typeWords(issue.expected);
      return isMissing(data, issue.path) ? `missing; expected ${words}` : `expected ${words}`;
    }
    case 'too_small':
      return `expected ${bound(issue.origin, 'at least', issue.inclusive === false ? '>' : '>=', issue.minimum)}`;
    case 'too_big':
      return `expected ${bound(issue.origin, 'at most', issue.inclusive === false ? '<' : '<=', issue.maximum)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

/**
 * The issue to report in place of `issue`: for an integer past the safe range
 * (zod's int check, bounded at +-2^53-1, fires before the field's own min or
 * max), the field's own bound at the same place when it has one, so that
 * 'vcpus: 99999999999999999999' says '<= 1024', the limit that is real.
 */
function withFieldBound(issue: z.core.$ZodIssue, issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  if ((issue.code !== 'too_big' && issue.code !== 'too_small') || issue.origin !== 'int') return issue;
  const samePath = (i: z.core.$ZodIssue) => i.path.length === issue.path.length && i.path.every((p, k) => p === issue.path[k]);
  return issues.find((i) => i !== issue && i.code === issue.code && i.origin !== 'int' && samePath(i)) ?? issue;
}

/** Parses and validates scenario text; errors are InputErrors located in `file`. */
export function parseScenario(text: string, file: string): Scenario {
  // Text that is no file read here (a counterexample's scenarioText) is held to the files' bound.
  if (text.length > MAX_SCENARIO_BYTES) {
    throw new InputError(`${file}:1:1 ${text.length} characters, larger than any scenario; expected at most ${MAX_SCENARIO_BYTES} (1 MiB)`);
  }
  try {
    return parseScenarioText(text, file);
  } catch (e) {
    // Documents nested deeper than the parser's or validator's recursion can go.
    if (e instanceof RangeError) throw new InputError(`${file}:1:1 document nested too deeply or too large (${e.message})`);
    throw e;
  }
}

function parseScenarioText(text: string, file: string): Scenario {
  // A .json file is JSON (RFC 8259: no trailing comma, no comment), as mmulab's other JSON
  // inputs are; the YAML reader, which takes JSON as it is, then reads it for the fields' places.
  if (/\.json$/i.test(file)) {
    const fault = notJson(text.startsWith('\uFEFF') ? text.slice(1) : text);
    if (fault !== null)
      throw new InputError(
        `${file}:${fault.line}:${fault.col} malformed JSON: ${fault.words} (a .json scenario is JSON; write YAML for comments and trailing commas)`,
      );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const pos = lineCounter.linePos(err.pos[0]);
    // The library's own words for a second document name a call of its API.
    const msg =
      err.code === 'MULTIPLE_DOCS'
        ? 'expected one scenario, found a second YAML document (after a --- line)'
        : err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new InputError(`${file}:${pos.line}:${pos.col} malformed YAML/JSON: ${msg}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    // Unresolved aliases, alias bombs: the yaml library throws ReferenceErrors here.
    if (e instanceof RangeError) throw e;
    throw new InputError(`${file}:1:1 malformed YAML/JSON: ${(e as Error)?.message ?? String(e)}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError(`${file}:1:1 expected a scenario mapping (vm, workload, host, settings, stop)`);
  }
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    // A misspelt key also makes its correct spelling "missing": name the misspelling first.
    const issues = parsed.error.issues;
    const issue = withFieldBound(issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!, issues);
    let path = issue.path;
    if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0]!];
    const node = nodeAt(doc.contents, path, issue.code === 'unrecognized_keys');
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
    const field = path.length > 0 ? path.map(segment).join('.').replace(/\.\[/g, '[') : '(top level)';
    throw new InputError(`${file}:${pos.line}:${pos.col} ${field}: ${describeIssue(issue, data)}`);
  }
  return parsed.data;
}

/**
 * The largest scenario file read: far above any real scenario (the built-ins
 * are a few KB), far below what the YAML parser can hold (a 10 MB file ran it
 * out of memory after 46 s).
 */
export const MAX_SCENARIO_BYTES = 1 << 20;

/** What a path that is not a regular file is, in words. */
function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The text of a scenario file, refused as bad input before anything is read
 * when it cannot be a scenario: a FIFO or a device (/dev/zero never ends, a
 * FIFO blocks until a writer comes), a file larger than MAX_SCENARIO_BYTES.
 * What is read is bounded too, for a file that grows meanwhile or says size
 * 0 (/proc).
 */
function readScenarioFile(ref: string): string {
  const refused = (why: string) => new InputError(`${ref}: cannot read scenario file (${why})`);
  const tooLarge = (bytes: string) =>
    new InputError(`${ref}: cannot read scenario file (${bytes} bytes, larger than any scenario); expected at most ${MAX_SCENARIO_BYTES} bytes (1 MiB)`);
  let st: Stats;
  try {
    st = statSync(ref);
  } catch (e) {
    throw cannotRead(ref, 'scenario', e);
  }
  if (st.isDirectory()) throw refused('is a directory');
  if (!st.isFile()) throw new InputError(`${ref}: cannot read scenario file (${fileKind(st)}); expected a regular file (.yaml or .json)`);
  if (st.size > MAX_SCENARIO_BYTES) throw tooLarge(String(st.size));
  let fd: number;
  try {
    fd = openSync(ref, 'r');
  } catch (e) {
    throw cannotRead(ref, 'scenario', e);
  }
  const buf = Buffer.allocUnsafe(MAX_SCENARIO_BYTES + 1);
  let length = 0;
  try {
    for (let n = 1; n > 0 && length < buf.length; length += n) n = readSync(fd, buf, length, buf.length - length, null);
  } catch (e) {
    throw cannotRead(ref, 'scenario', e);
  } finally {
    closeSync(fd);
  }
  if (length > MAX_SCENARIO_BYTES) throw tooLarge(`more than ${MAX_SCENARIO_BYTES}`);
  return buf.toString('utf8', 0, length);
}

/** Names of the built-in scenarios, sorted. */
export function builtinNames(): string[] {
  return builtinIndex().map((b) => b.name);
}

/** The built-ins with their one-line descriptions. */
export function builtinIndex(): { name: string; description: string }[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -5);
      const s = parseScenario(readFileSync(join(BUILTIN_DIR, f), 'utf8'), `scenarios/${f}`);
      return { name, description: s.description.split('\n')[0]!.trim() };
    });
}

/** True when `ref` names a scenario file rather than a built-in (a path, or a .yaml/.json name). */
export function isScenarioFile(ref: string): boolean {
  return /[/\\]|\.(ya?ml|json)$/i.test(ref);
}

/**
 * A scenario file's parsed text, named by `ref`, the path as the user gave it
 * (what check's results and counterexamples record, and what loads it again),
 * unless it names itself; errors are located in `where`.
 */
export function scenarioFromText(text: string, ref: string, where = ref): Scenario {
  const s = parseScenario(text, where);
  return { ...s, name: s.name ?? ref };
}

/** The text of each scenario file loaded, by the reference it was loaded by: to locate a field in it later (fieldPosition). */
const loadedTexts = new Map<string, string>();

/** The scenario files loaded so far: the reference each was loaded by, and its text. */
export function loadedScenarioFiles(): [ref: string, text: string][] {
  return [...loadedTexts];
}

/**
 * Loads a scenario by built-in name or file path. A name without a path separator
 * or extension is a built-in; anything else is read from disk.
 */
export function loadScenario(ref: string): Scenario {
  if (!isScenarioFile(ref)) {
    const names = builtinNames();
    if (!names.includes(ref)) {
      throw new InputError(`${ref}: unknown built-in scenario; expected one of ${names.join(', ')} (or a .yaml/.json file)`);
    }
    const s = parseScenario(readFileSync(join(BUILTIN_DIR, `${ref}.yaml`), 'utf8'), `scenarios/${ref}.yaml`);
    return { ...s, name: s.name ?? ref };
  }
  const text = readScenarioFile(ref);
  const s = scenarioFromText(text, ref);
  loadedTexts.set(ref, text);
  return s;
}
