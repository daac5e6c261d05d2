import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CompareResult, renderCompare } from '../../src/cli/compare.js';
import { summarizeRun } from '../../src/cli/summary.js';
import { FtraceSink } from '../../src/report/ftrace.js';
import { printable } from '../../src/report/printable.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runWith } from './fixtures.js';

/** A name as a probe wrote it: a newline, then an ANSI colour command. */
const EVIL = 'evil\nname \u001b[31mRED\u202e';

/** Whether multi-line `text` has a character, beyond its line ends, that acts on a terminal or a line-based log instead of showing. */
function hasControl(text: string): boolean {
  return text.split('\n').some((line) => /[\p{Cc}\u202a-\u202e]/u.test(line));
}

test('printable: controls, DEL and bidi overrides come out as their escapes; other text, non-ASCII included, as it is', () => {
  assert.equal(printable(EVIL), 'evil\\nname \\x1b[31mRED\\u202e');
  assert.equal(printable('\t\r\u007f\u0085'), '\\t\\r\\x7f\\x85');
  assert.equal(printable('ü ni ☃ <b>'), 'ü ni ☃ <b>');
});

test("a scenario named with a newline and ESC, seed 1: the ftrace header stays one line, the run's and compare's headers show escapes; the JSON keeps the name", () => {
  const s = parseScenario(
    `name: ${JSON.stringify(EVIL)}\nvm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 64 }] }\nworkload: { gfnCount: 64 }\nstop: { timeNs: 20000 }\n`,
    'evil.yaml',
  );
  const sink = new FtraceSink();
  const r = runWith(s, [sink]);
  assert.equal(r.scenario, EVIL);
  const text = [...sink.render({ title: `${r.scenario} seed 1` })].join('');
  const lines = text.split('\n');
  assert.equal(lines[0], '# mmulab ftrace-style log (trace-cmd report -t layout): evil\\nname \\x1b[31mRED\\u202e seed 1');
  assert.match(lines[1]!, /^# /, 'the header goes on');
  assert.equal(hasControl(text), false);
  const table = summarizeRun(r);
  assert.equal(table.split('\n')[0], 'evil\\nname \\x1b[31mRED\\u202e  seed 1');
  assert.equal(hasControl(table), false);
  const c: CompareResult = {
    format: 'mmulab-compare/1',
    scenario: r.scenario,
    mutant: null,
    sets: [],
    vary: {},
    seeds: [1],
    rows: [{ label: 'default', settings: effectiveSettings(s), results: [r] }],
    partial: false,
    wallMs: 0,
  };
  assert.equal(hasControl(renderCompare(c)), false);
});
