import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-output-gone-');
/** 4 vCPUs and a NUMA balancing thread for 2 ms. */
const scenario = 'test/fixtures/small.yaml';

/** The CLI in this process with `args`, the folder `gone` removed once the command has started its work. */
function withFolderRemoved(gone: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return captured(args, () => rmdirSync(gone));
}

for (const command of ['run', 'compare'] as const) {
  test(`${command} seed 7 with its output folder removed during the work: the table is printed, each output not written is named with why (one line each), the others are written, exit 2 (a probe: an ENOENT on a temporary file, no table)`, async () => {
    const gone = join(dir, `gone-${command}`);
    mkdirSync(gone);
    const kept = join(dir, `kept-${command}.html`);
    const extra = command === 'compare' ? ['--vary', 'faultPrecheck=off,lockless'] : ['--trace', join(gone, 't.json')];
    const r = await withFolderRemoved(gone, [command, scenario, ...extra, '--json', join(gone, 'a.json'), '--report', kept]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, command === 'run' ? /^test\/fixtures\/small\.yaml {2}seed 7\n/ : /^test\/fixtures\/small\.yaml, seeds 7\n/);
    assert.match(r.stdout, /faults/);
    const lines = r.stderr.trim().split('\n');
    const json = `mmulab: --json ${join(gone, 'a.json')}: not written: its folder ${gone} no longer exists (ENOENT)`;
    assert.deepEqual(
      lines,
      command === 'run' ? [`mmulab: --trace ${join(gone, 't.json')}: not written: its folder ${gone} no longer exists (ENOENT)`, json] : [json],
    );
    assert.ok(existsSync(kept), 'the report in another folder is written');
  });
}
