import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertBad, fileIn, GOOD_SCENARIO } from './bad-input-asserts.js';
import { CliProcess } from './cli-process.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-bad-probe-');

const scenarioFile = (name: string, text: string) => fileIn(dir, name, text);
const GOOD = GOOD_SCENARIO;

test("an integer past 2^53 is refused with the field's own bound (a probe: 'vm.vcpus: expected <= 9007199254740991' for vcpus 99999999999999999999, whose limit is 1024; seed 9007199254740993 likewise, whose limit is 2^31-1)", async () => {
  const cases: [string, string, RegExp][] = [
    ['vcpus.yaml', GOOD.replace('vcpus: 2', 'vcpus: 99999999999999999999'), /vcpus\.yaml:2:10 vm\.vcpus: expected <= 1024$/],
    ['vcpus-neg.yaml', GOOD.replace('vcpus: 2', 'vcpus: -99999999999999999999'), /vcpus-neg\.yaml:2:10 vm\.vcpus: expected >= 1$/],
    ['seed.yaml', `${GOOD}seed: 9007199254740993\n`, /seed\.yaml:9:7 seed: expected <= 2147483647$/],
    ['pages.yaml', GOOD.replace('pages: 64', 'pages: 1e30'), /pages\.yaml:4:35 vm\.memslots\[0\]\.pages: expected <= 4294967296$/],
  ];
  for (const [name, text, pattern] of cases) assertBad(await cli('run', scenarioFile(name, text)), pattern);
});

test('unknown keys by the thousand make one short line: the first few, then how many more (a probe: 20,000 unknown keys made a 189 KB line, 2,000 here; a file not a scenario, such as /etc/shadow, was listed line by line)', async () => {
  const keys = Array.from({ length: 2000 }, (_, i) => `k${i}: 1`).join('\n');
  const r = await cli('run', scenarioFile('keys.yaml', `${GOOD}${keys}\n`));
  assertBad(
    r,
    /keys\.yaml:9:1 k0: unknown keys 'k0', 'k1', 'k2', 'k3', 'k4' and 1995 more, expected one of name, description, vm, workload, vcpuWorkloads, host, settings, costs, stop, seed$/,
  );
  assert.ok(r.stderr.length < 300, `${r.stderr.length} characters`);
  // A key of its own too long is cut, as the field's name is.
  const long = 'x'.repeat(1000);
  const one = await cli('run', scenarioFile('long-key.yaml', `${GOOD}${long}: 1\n`));
  assertBad(
    one,
    /long-key\.yaml:9:1 \["x{40}\.\.\."\]: unknown key 'x{40}\.\.\.', expected one of name, description, vm, workload, vcpuWorkloads, host, settings, costs, stop, seed$/,
  );
  // Two keys: both listed, no "more".
  assertBad(
    await cli('run', scenarioFile('two.yaml', `${GOOD}a: 1\nb: 2\n`)),
    /two\.yaml:9:1 a: unknown keys 'a', 'b', expected one of name, description, vm, workload, vcpuWorkloads, host, settings, costs, stop, seed$/,
  );
});

/**
 * The CLI in a process of its own, a command cut off after 30 s (a FIFO blocked it for good; a 10 MB
 * file ran it out of memory after 46 s): one process for the commands of the test below, one after the other.
 */
async function spawnedCli(child: CliProcess, ...args: string[]): Promise<{ code: number; stderr: string }> {
  const r = await child.run(args);
  return { code: typeof r.code === 'number' ? r.code : -1, stderr: `${r.code === 'hang' ? 'hang (cut off after 30 s)\n' : ''}${r.stderr}` };
}

test('a scenario path that is no regular file, or a file far larger than any scenario, is refused before it is read (a probe: a 10 MB file aborted with an out-of-memory native stack after 46 s, /dev/zero with std::bad_alloc, exit 134, and a FIFO blocked for good)', async () => {
  const child = new CliProcess(30_000);
  try {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `a: [${Array.from({ length: 5_000_000 }, () => '1').join(',')}]\n`);
    assertBad(
      await spawnedCli(child, 'run', big),
      /big\.yaml: cannot read scenario file \(10000005 bytes, larger than any scenario\); expected at most 1048576 bytes \(1 MiB\)$/,
    );
    assertBad(
      await spawnedCli(child, 'run', '/dev/zero'),
      /^mmulab: \/dev\/zero: cannot read scenario file \(a character device\); expected a regular file \(\.yaml or \.json\)$/,
    );
    const fifo = join(dir, 'fifo.yaml');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    assertBad(await spawnedCli(child, 'run', fifo), /fifo\.yaml: cannot read scenario file \(a FIFO\); expected a regular file \(\.yaml or \.json\)$/);
    // Those that were refused already say what they said.
    assertBad(await spawnedCli(child, 'run', dir), /: cannot read scenario file \(is a directory\)$/);
    // And the process exits once they are done, as each did on its own (nothing left running).
    assert.equal(await child.end(), 'exited');
  } finally {
    child.close();
  }
});

test("a counterexample's scenarioText is held to a scenario file's bound (it is parsed as one)", async () => {
  const cex = cexObject({ scenario: 'huge.yaml', scenarioText: `a: [${Array.from({ length: 600_000 }, () => '1').join(',')}]\n` });
  const f = join(dir, 'huge-text.json');
  writeFileSync(f, JSON.stringify(cex));
  assertBad(await cli('replay', f), /huge-text\.json: scenarioText:1:1 1200005 characters, larger than any scenario; expected at most 1048576 \(1 MiB\)$/);
});

test("a shadow page-table layout refused is blamed on the field where the value comes from: the workload's, when the vCPU's vcpuWorkloads entry does not set it (a probe: 'vcpuWorkloads[0].pageTableGfns' for a pageTableGfns only the workload gives)", async () => {
  const file = (name: string, workload: string, entry: string) =>
    scenarioFile(
      name,
      `vm: { vcpus: 2, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 1024 }, { id: 1, baseGfn: 134217728, pages: 16384 }] }\nsettings: { mmu: shadow }\nstop: { timeNs: 100000 }\nworkload: { gfnCount: 1024, accesses: 10, ${workload} }\nvcpuWorkloads: [${entry}]\n`,
    );
  assertBad(
    await cli('run', file('ptg.yaml', 'pageTableGfns: 2', '{ accesses: 20 }')),
    /ptg\.yaml:4:\d+ workload\.pageTableGfns: 2 pages cannot hold the page tables of vCPU0's processes: at least 4 are needed .*; expected at least 4$/,
  );
  // Set by the entry: blamed there, as before.
  assertBad(
    await cli('run', file('ptg-own.yaml', 'pageTableGfns: 4096', '{ accesses: 20, pageTableGfns: 2 }')),
    /ptg-own\.yaml:5:\d+ vcpuWorkloads\[0\]\.pageTableGfns: 2 pages cannot hold the page tables of vCPU0's processes/,
  );
  assertBad(
    await cli('run', file('ptstart.yaml', 'pageTableGfnStart: 100', '{ accesses: 20 }')),
    /ptstart\.yaml:4:\d+ workload\.pageTableGfnStart: vCPU0's page tables at \[0x64, 0x1064\) must lie in one memslot at or above 0x8000000$/,
  );
  // gfnStart + gfnCount past the user half: the workload gives both.
  const top = scenarioFile(
    'user-top.yaml',
    'vm: { vcpus: 2, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 134217472, pages: 9472 }] }\nsettings: { mmu: shadow }\nstop: { timeNs: 100000 }\nworkload: { gfnStart: 134217472, gfnCount: 512, accesses: 10 }\nvcpuWorkloads: [{ accesses: 20 }]\n',
  );
  assertBad(
    await cli('run', top),
    /user-top\.yaml:4:\d+ workload: gfnStart \+ gfnCount 134217984 reaches past the guest's user half \(0x8000000\) under shadow paging$/,
  );
});

/** A well-formed counterexample, as JSON would hold it, with `fields` changed. */
function cexObject(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'mmulab-cex/3',
    scenario: 'fault-vs-invalidation-mini',
    settings: {},
    mutant: null,
    seed: 1,
    strategy: 'dfs',
    property: 'stale-translation',
    violation: { kind: 'stale-translation', thread: 'vCPU0', timeNs: 0, step: 0, message: 'm' },
    limits: { maxSteps: 100, fairSpin: true, spinProgress: 'footprint', retries: 'deferred' },
    schedule: { choices: [], draws: [] },
    steps: [],
    ...fields,
  };
}

/** JSON text of an array nested `depth` deep (built as text: JSON.stringify of it would overflow the stack). */
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A counterexample's text with `field` set to `value` (JSON text), the rest of a well-formed one. */
function cexText(field: string, value: string): string {
  const cex = cexObject();
  cex[field] = '@VALUE@';
  return JSON.stringify(cex).replace('"@VALUE@"', value);
}

test('replay and merge of deeply nested JSON say what was expected, exit 2 (a probe: "internal error: Maximum call stack size exceeded", exit 3, from quoting the whole value to show 40 characters of it)', async () => {
  const deep = scenarioFile('deep.json', deepArray(5000));
  const quoted = /\[{40}…/;
  const cut = (pattern: RegExp) => new RegExp(`${pattern.source}${quoted.source}`);
  assertBad(await cli('replay', deep), cut(/deep\.json: \(top level\): /));
  const seed = scenarioFile('deep-seed.json', cexText('seed', deepArray(10000)));
  assertBad(await cli('replay', seed), cut(/deep-seed\.json: seed: /));
  const property = scenarioFile('deep-property.json', cexText('property', deepArray(10000)));
  assertBad(await cli('replay', property), cut(/deep-property\.json: property: /));
  const format = scenarioFile('deep-format.json', cexText('format', deepArray(10000)));
  assertBad(await cli('replay', format), cut(/deep-format\.json: counterexample: field 'format' is /));
  assertBad(await cli('merge', deep, deep), cut(/deep\.json: expected a JSON object \(the --json of mmulab sweep or check\), got /));
  // A sweep part whose maxSteps is nested 10,000 deep.
  const part = join(dir, 'part.json');
  const made = await cli('sweep', 'fault-vs-invalidation-mini', '--vary', 'faultPrecheck=off,lockless', '--workers', '0', '--json', part);
  assert.equal(made.code, 0, made.stderr);
  const text = readFileSync(part, 'utf8');
  assert.match(text, /"maxSteps": null/);
  const bad = scenarioFile('deep-max-steps.json', text.replace('"maxSteps": null', `"maxSteps": ${deepArray(10000)}`));
  assertBad(await cli('merge', bad, part), cut(/deep-max-steps\.json: maxSteps: expected a number, got /));
});

test('replay refuses a counterexample whose seed is no seed --seed takes (a probe: -1, 1.5 and 9007199254740992 were taken, and copied into replay --json)', async () => {
  const cexFile = join(dir, 'seed-cex.json');
  const found = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', cexFile);
  assert.equal(found.code, 1, found.stderr);
  const text = readFileSync(cexFile, 'utf8');
  assert.match(text, /"seed": \d+,/);
  const withSeed = (name: string, seed: string) => scenarioFile(name, text.replace(/"seed": \d+,/, `"seed": ${seed},`));
  for (const [name, seed] of [
    ['neg', '-1'],
    ['frac', '1.5'],
    ['past-2-53', '9007199254740992'],
    ['past-2-31', '2147483648'],
    ['text', '"1"'],
  ] as const) {
    const quoted = seed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assertBad(
      await cli('replay', withSeed(`seed-${name}.json`, seed)),
      new RegExp(`seed-${name}\\.json: seed: ${quoted}, expected a whole number from 0 to 2147483647 \\(what --seed takes\\)$`),
    );
  }
  // The largest seed --seed takes replays.
  const r = await cli('replay', withSeed('seed-max.json', '2147483647'));
  assert.equal(r.code, 1, r.stderr);
});

test('refusals in the words of the tool, not of its libraries, and alike across commands (a probe: a second YAML document named a yaml-library call, an empty --schedule spoke of base64url and --max-steps, and a folder read three ways)', async () => {
  assertBad(
    await cli('run', scenarioFile('two-docs.yaml', `${GOOD}---\n${GOOD}`)),
    /two-docs\.yaml:9:1 malformed YAML\/JSON: expected one scenario, found a second YAML document \(after a --- line\)$/,
  );
  assertBad(
    await cli('replay', 'fault-vs-invalidation-mini', '--schedule', ''),
    /^mmulab: --schedule: schedule string: empty; expected the string check printed after --schedule$/,
  );
  assertBad(await cli('run', dir), /: cannot read scenario file \(is a directory\)$/);
  assertBad(await cli('replay', dir), /: cannot read counterexample file \(is a directory\)$/);
  assertBad(await cli('merge', dir, dir), /: cannot read part file \(is a directory\)$/);
});

// Regression (helper-103's probe): 'settings.memslotflush: unknown key' named the key but not what
// was expected there, where --vary lists every setting and counterexamples their keys.
test('an unknown key in a scenario says what is expected there, the key most likely meant first: a case off, a letter off, or one level down', async () => {
  const cases: [string, string, RegExp][] = [
    [
      'case.yaml',
      `${GOOD}settings: { memslotflush: zap-slot }\n`,
      /settings\.memslotflush: unknown key 'memslotflush' \(did you mean 'memslotFlush'\?\), expected one of mmu, faultPrecheck, .*memslotFlush, .*eptAdBits$/,
    ],
    ['cost.yaml', `${GOOD}costs: { gupNS: 5 }\n`, /costs\.gupNS: unknown key 'gupNS' \(did you mean 'gupNs'\?\), expected one of guestAccessNs, .*pageCopyNs$/],
    [
      'top.yaml',
      `${GOOD}vcpus: 2\n`,
      /:9:1 vcpus: unknown key 'vcpus' \(did you mean 'vm\.vcpus'\?\), expected one of name, description, vm, workload, vcpuWorkloads, host, settings, costs, stop, seed$/,
    ],
    ['far.yaml', `${GOOD}settings: { colour: red }\n`, /settings\.colour: unknown key 'colour', expected one of mmu, /],
  ];
  for (const [name, text, pattern] of cases) {
    const r = await cli('run', scenarioFile(name, text));
    assertBad(r, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

// Regression (helper-103's probe): a .json scenario with a trailing comma was taken without a word
// (read as YAML's flow style); a .json file is JSON, refused at its place as mmulab's other JSON inputs are.
test('a .json scenario is JSON: a trailing comma or a comment is refused at its line and column; the same text as .yaml is taken', async () => {
  const text = '{"vm": {"vcpus": 1, "memslots": [{"id": 0, "baseGfn": 0, "pages": 64},]},\n "workload": {"gfnCount": 64}, "stop": {"timeNs": 10000}}\n';
  assertBad(
    await cli('run', scenarioFile('comma.json', text)),
    /comma\.json:1:71 malformed JSON: expected a value \(an object, array, string, number, true, false or null\), got '\]' \(a \.json scenario is JSON; write YAML for comments and trailing commas\)$/,
  );
  assertBad(
    await cli('run', scenarioFile('comment.json', `// mine\n${text.replace(',]', ']')}`)),
    /comment\.json:1:1 malformed JSON: expected a value .*, got '\/'/,
  );
  const ok = await cli('run', scenarioFile('comma.yaml', text));
  assert.equal(ok.code, 0, ok.stderr);
  const json = await cli('run', scenarioFile('plain.json', text.replace(',]', ']')));
  assert.equal(json.code, 0, json.stderr);
});
