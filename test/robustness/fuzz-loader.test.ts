import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InputError } from '../../src/scenario/input-error.js';
import { checkScenarioLimits } from '../../src/scenario/limits.js';
import { BUILTIN_DIR, parseScenario } from '../../src/scenario/load.js';
import { runBriefly } from './brief-run.js';
import { deep, nasty, scenarioObject } from './scenario-arbitrary.js';

const FILE = 'fuzz.yaml';
/** `file:line:col field: message` or, with no field (a YAML syntax error), `file:line:col message`, on one line: no colon after the column. */
const LOCATED = /^fuzz\.yaml:\d+:\d+ \S[^\n]*$/;

/** Stats across the whole file, printed at the end. */
const stats = { cases: 0, parsed: 0, refused: 0, limited: 0, ran: 0, runRefused: 0, violated: 0, twice: 0 };
/** Every this many documents that pass the limits one is run (a few ms each); every tenth of those twice. */
const RUN_EVERY = Number(process.env.FUZZ_RUN_EVERY ?? 2);

/** Feeds one document to the loader: it must parse or throw a located InputError, nothing else. */
function feed(text: string, run = false): void {
  stats.cases++;
  let s: ReturnType<typeof parseScenario>;
  try {
    s = parseScenario(text, FILE);
  } catch (e) {
    if (!(e instanceof InputError)) {
      assert.fail(`not an InputError: ${(e as Error)?.stack ?? String(e)}\n--- input (first 500 chars) ---\n${text.slice(0, 500)}`);
    }
    assert.match(e.message, LOCATED, `unlocated message for input:\n${text.slice(0, 500)}`);
    stats.refused++;
    return;
  }
  stats.parsed++;
  // What parses goes on to the up-front limits: they pass or refuse as bad input.
  try {
    checkScenarioLimits(s, FILE);
  } catch (e) {
    if (!(e instanceof InputError)) assert.fail(`limits: not an InputError: ${(e as Error)?.stack ?? String(e)}`);
    assert.match(e.message, /^fuzz\.yaml: \S[^\n]*$/);
    stats.limited++;
    return;
  }
  // What passes the limits goes on to a short run: a result, or bad input named by the file.
  if (!run || (stats.parsed - stats.limited) % RUN_EVERY !== 0) return;
  const twice = stats.ran % 10 === 0;
  const r = runBriefly(s, FILE, text, twice);
  if (r === 'refused') stats.runRefused++;
  else if (r === 'violated') stats.violated++;
  stats.ran++;
  if (twice) stats.twice++;
}

const HUGE = 'x'.repeat(20_000);
const HUGER = 'x'.repeat(1_000_000);

/** An unknown key now and then (one document in 13: misspellings, prototype names). */
const withStray = fc
  .tuple(
    scenarioObject,
    fc.oneof(
      { weight: 12, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('vcpu', 'stopp', '__proto__', 'constructor', 'toString', '') },
    ),
    nasty,
  )
  .map(([o, k, v]) => {
    const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
    if (k !== undefined) Object.defineProperty(out, k, { value: v, enumerable: true, configurable: true, writable: true });
    return out;
  });

/** How a generated object becomes text: JSON, YAML (flow or block), or raw garbage. */
function serialize(o: unknown, how: number): string {
  switch (how % 4) {
    case 0:
      return JSON.stringify(o) ?? 'null';
    case 1:
      return stringifyYaml(o, { aliasDuplicateObjects: false });
    case 2:
      return stringifyYaml(o, { flowCollectionPadding: false, collectionStyle: 'flow', aliasDuplicateObjects: false });
    default: {
      // Truncated YAML: cut somewhere in the middle.
      const t = stringifyYaml(o, { aliasDuplicateObjects: false });
      return t.slice(0, Math.floor(t.length / 2));
    }
  }
}

/** Generated documents: about half parse (of those, every RUN_EVERY-th that passes the limits is run), the rest are refused. */
const GENERATED = Number(process.env.FUZZ_RUNS ?? 2_000);

test('fuzz: generated scenario documents parse or fail with a located InputError', () => {
  const t0 = performance.now();
  fc.assert(
    fc.property(withStray, fc.nat(), (o, how) => {
      feed(serialize(o, how), true);
    }),
    { numRuns: GENERATED, seed: Number(process.env.FUZZ_SEED ?? 20261125) },
  );
  // And arbitrary text, half of it YAML-ish punctuation.
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.stringMatching(/^[-:{}[\],&*!|>'"%@` \n#a-z0-9]{0,120}$/)), (t) => {
      feed(t);
    }),
    { numRuns: 2000, seed: 7 },
  );
  const ms = performance.now() - t0;
  console.log(
    `fuzz-loader: ${stats.cases} documents in ${Math.round(ms)} ms (parsed ${stats.parsed}, refused ${stats.refused}, over limits ${stats.limited}; ` +
      `ran ${stats.ran} (${stats.twice} twice): ${stats.runRefused} refused as bad input, ${stats.violated} with a violation or livelock)`,
  );
  assert.ok(stats.cases >= GENERATED);
  // (Its time is logged, not asserted: speed is the bench's; about 7 s here.)
});

const NASTY_VALUES: unknown[] = [undefined, 0, -1, 2 ** 53, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY, 0.5, null, true, 'x', HUGE, [], {}, deep(60)];

/** Every path to a value in a JSON-ish tree. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

/** A copy of `root` with the value at `path` replaced (undefined: the key dropped). */
function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

test('fuzz: mutations of every built-in scenario (keys dropped, types changed, boundaries, huge, deep)', () => {
  const files = readdirSync(BUILTIN_DIR).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length > 0);
  let n = 0;
  // The loader is a function of the text alone: a document fed once (JSON writes NaN, the infinities and
  // null alike; a value replacing the whole document is the same for every built-in) need not be fed again.
  const fed = new Set<string>();
  const feedOnce = (doc: string) => {
    if (fed.has(doc)) return;
    fed.add(doc);
    feed(doc);
    n++;
  };
  const t0 = performance.now();
  for (const [fi, f] of files.entries()) {
    const text = readFileSync(join(BUILTIN_DIR, f), 'utf8');
    feed(text);
    const obj = parseYaml(text) as unknown;
    for (const p of paths(obj)) {
      for (const [vi, v] of NASTY_VALUES.entries()) {
        // Every value at every path of every built-in, as YAML (block) or JSON in turn: a value goes as
        // YAML in one built-in and as JSON in the next, so each kind of damage is read in both syntaxes.
        const m = setAt(obj, p, v);
        feedOnce((fi + vi) % 2 === 0 ? (stringifyYaml(m, { aliasDuplicateObjects: false }) ?? '') : (JSON.stringify(m) ?? 'null'));
      }
    }
    // Text-level damage: truncation at every tenth of the file, a stray tab, a duplicated key.
    for (let i = 1; i < 10; i++) feedOnce(text.slice(0, Math.floor((text.length * i) / 10)));
    feedOnce(text.replace(/\n {2}/, '\n\t'));
    feedOnce(`${text}\nseed: 2\n`);
  }
  console.log(`fuzz-loader: ${n} distinct mutations of ${files.length} built-ins in ${Math.round(performance.now() - t0)} ms`);
});

test('fuzz: very deep nesting and huge documents fail cleanly', () => {
  for (const depth of [1000, 10_000]) {
    feed(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    feed(`vm: ${'['.repeat(depth)}${']'.repeat(depth)}`);
    feed(`${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`);
    feed(JSON.stringify({ vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 1 }] }, description: deep(Math.min(depth, 1000)) }));
  }
  let block = '';
  for (let i = 0; i < 2000; i++) block += `${' '.repeat(i)}a${i}:\n`;
  feed(block);
  feed(`name: ${HUGER}\n`);
  feed(`description: "${'y'.repeat(1_000_000)}"\nvm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 1 }] }\nstop: { timeNs: 1 }\n`);
  feed('a: &a [*a]');
  feed(`a: &x [1]\nb: [${Array(200).fill('*x').join(',')}]`);
});
