import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-reproduce-');

/** The Reproduce line of a report page, unescaped. */
function reproduce(file: string): string {
  const m = /Reproduce: <code>([^<]*)<\/code>/.exec(readFileSync(file, 'utf8'));
  assert.ok(m !== null, 'the page has a Reproduce line');
  return m[1]!
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The words a POSIX shell makes of `line`. */
function shellWords(line: string): string[] {
  return JSON.parse(execFileSync('sh', ['-c', `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- ${line}`], { encoding: 'utf8' })) as string[];
}

test("run and compare --report: the Reproduce line is the command as given, each word quoted for the shell (a probe: 'mmulab run ü ni ☃.yaml … --report rep sp'x.html' was shown raw)", async () => {
  const scenario = join(dir, 'ü ni ☃.yaml');
  writeFileSync(scenario, 'vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 64 }] }\nworkload: { gfnCount: 64 }\nstop: { timeNs: 20000 }\n');
  const page = join(dir, "rep sp'x.html");
  const args = ['run', scenario, '--set', 'faultPrecheck=off', '--report', page];
  assert.equal((await cli(...args)).code, 0);
  const line = reproduce(page);
  assert.equal(line, `mmulab run '${scenario}' --set faultPrecheck=off --report '${join(dir, "rep sp'\\''x.html")}'`);
  assert.deepEqual(shellWords(line), ['mmulab', ...args]);

  const cmp = join(dir, 'cmp $x.html');
  const cargs = ['compare', scenario, '--vary', 'faultPrecheck=off,lockless', '--report', cmp];
  assert.equal((await cli(...cargs)).code, 0);
  assert.deepEqual(shellWords(reproduce(cmp)), ['mmulab', ...cargs]);
});
