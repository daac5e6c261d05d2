import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
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

/**
 * The CLI in a process of its own (test/robustness/cli-child.ts), which runs
 * the commands it is sent one after the other: its start (tsx's) is paid once,
 * not per case. A command that runs past the watchdog is a hang: the process
 * is killed and the next command gets a fresh one; one that ends the process
 * (a crash) is reported with the process's exit and what it wrote.
 */
class CliProcess {
  private child: ChildProcess | null = null;
  private stderr = '';

  private start(): ChildProcess {
    const child = fork(join('test', 'robustness', 'cli-child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.stderr = '';
    return child;
  }

  /** Runs `args` with a watchdog; a hang is reported as code 'hang'. */
  run(args: string[]): Promise<{ code: number | string; stderr: string }> {
    if (this.child === null) this.child = this.start();
    const child = this.child;
    const from = this.stderr.length;
    const written = () => this.stderr.slice(from);
    return new Promise((resolve) => {
      const done = (r: { code: number | string; stderr: string }) => {
        clearTimeout(dog);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (r: { code: number | string; stderr: string }) => done({ code: r.code, stderr: written() + r.stderr });
      const onExit = (code: number | null, sig: string | null) => {
        this.child = null;
        done({ code: `process exit ${code ?? `signal ${sig}`}`, stderr: written() });
      };
      const dog = setTimeout(() => {
        child.off('exit', onExit);
        child.kill('SIGKILL');
        this.child = null;
        done({ code: 'hang', stderr: written() });
      }, WATCHDOG_MS);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send(args);
    });
  }

  close(): void {
    this.child?.kill();
    this.child = null;
  }
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
  const cli = new CliProcess();
  try {
    for (const [i, d] of docs.entries()) {
      const f = join(dir, `case${i}.yaml`);
      writeFileSync(f, d);
      const r = await cli.run(['run', f, '--max-steps', '20000', '--time-limit', '20']);
      codes[String(r.code)] = (codes[String(r.code)] ?? 0) + 1;
      assert.ok([0, 1, 2].includes(r.code as number), `exit ${r.code}\n${r.stderr}\n--- scenario ---\n${d}`);
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, `${r.stderr}\n--- scenario ---\n${d}`);
    }
  } finally {
    cli.close();
  }
  console.log(`fuzz-cli: ${docs.length} runs in a child process in ${Math.round(performance.now() - t0)} ms, exit codes ${JSON.stringify(codes)}`);
});
