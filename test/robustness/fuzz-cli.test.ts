import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { BUILTIN_DIR } from '../../src/scenario/load.js';
import { CliProcess } from '../cli/cli-process.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('mmulab-fuzzcli-');
const CASES = Number(process.env.FUZZ_CLI_CASES ?? 12);

/** Documents for the CLI: built-ins with one value changed or a key dropped. */
function documents(n: number): string[] {
  const bases = readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parseYaml(readFileSync(join(BUILTIN_DIR, f), 'utf8')) as Record<string, unknown>);
  const values: unknown[] = [undefined, 0, -1, 1, 2 ** 53, 'x', null, [], {}, 1e9, 0.5];
  const sections = ['vm', 'workload', 'host', 'settings', 'stop', 'seed'];
  return fc.sample(
    fc.tuple(fc.nat(bases.length - 1), fc.constantFrom(...sections), fc.nat(20), fc.constantFrom(...values)).map(([b, sec, k, v]) => {
      const o = structuredClone(bases[b]!);
      const node = o[sec];
      if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
        const keys = Object.keys(node);
        const key = keys[k % Math.max(1, keys.length)] ?? 'timeNs';
        if (v === undefined) delete (node as Record<string, unknown>)[key];
        else (node as Record<string, unknown>)[key] = v;
      } else if (v === undefined) delete o[sec];
      else o[sec] = v;
      return stringifyYaml(o) ?? '';
    }),
    { numRuns: n, seed: 42 },
  );
}

test(`fuzz-cli: ${CASES} mutated scenarios through \`run\`: exit 0/1/2, no stack trace, no hang`, async () => {
  const docs = documents(CASES);
  const t0 = performance.now();
  const codes: Record<string, number> = {};
  const cli = new CliProcess(60_000);
  try {
    for (const [i, d] of docs.entries()) {
      const f = join(dir, `case${i}.yaml`);
      writeFileSync(f, d);
      const r = await cli.run(['run', f, '--max-steps', '20000', '--time-limit', '20']);
      codes[String(r.code)] = (codes[String(r.code)] ?? 0) + 1;
      assert.ok([0, 1, 2].includes(r.code as number), `exit ${r.code}\n${r.stderr}\n--- scenario ---\n${d}`);
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, `${r.stderr}\n--- scenario ---\n${d}`);
    }
    // Done with every command, the process exits on its own (nothing left running by any of them).
    assert.equal(await cli.end(), 'exited', 'the CLI process did not exit once its commands were done');
  } finally {
    cli.close();
  }
  console.log(`fuzz-cli: ${docs.length} runs in a child process in ${Math.round(performance.now() - t0)} ms, exit codes ${JSON.stringify(codes)}`);
});
