import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { BUILTIN_DIR } from '../../src/scenario/load.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('mmulab-fuzzcli-');
const CASES = Number(process.env.FUZZ_CLI_CASES ?? 12);
const WATCHDOG_MS = 60_000;

/** Runs the CLI with a watchdog; a hang is reported as code 'hang'. */
function cli(args: string[]): Promise<{ code: number | string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let hung = false;
    const dog = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, WATCHDOG_MS);
    child.on('exit', (code, sig) => {
      clearTimeout(dog);
      resolve({ code: hung ? 'hang' : (code ?? `signal ${sig}`), stderr });
    });
  });
}

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
  // A few at a time.
  for (let i = 0; i < docs.length; i += 4) {
    const batch = docs.slice(i, i + 4).map((d, j) => {
      const f = join(dir, `case${i + j}.yaml`);
      writeFileSync(f, d);
      return cli(['run', f, '--max-steps', '20000', '--time-limit', '20']).then((r) => ({ r, d }));
    });
    for (const { r, d } of await Promise.all(batch)) {
      codes[String(r.code)] = (codes[String(r.code)] ?? 0) + 1;
      assert.ok([0, 1, 2].includes(r.code as number), `exit ${r.code}\n${r.stderr}\n--- scenario ---\n${d}`);
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, `${r.stderr}\n--- scenario ---\n${d}`);
    }
  }
  console.log(`fuzz-cli: ${docs.length} child processes in ${Math.round(performance.now() - t0)} ms, exit codes ${JSON.stringify(codes)}`);
});
