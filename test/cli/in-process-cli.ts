import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';

/**
 * Runs the CLI in this process (a process per call under tsx would take
 * seconds each), capturing its stderr (stdout carries the test runner's own
 * report, so what the CLI prints there goes along as comments).
 */
export async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => {
    stderr += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    process.exitCode = undefined;
    const code = await main(args);
    return { code, stderr };
  } finally {
    process.stderr.write = write;
    process.exitCode = undefined;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);
  }
}

/** A check --json file without what may differ between identical runs (wall times). */
export function load(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8'), (k, v) => (k === 'wallMs' || k === 'executionsPerSec' || k === 'firstCounterexampleMs' ? 0 : v));
}

/** The CLI in a process of its own, for what it prints on stdout. */
export function spawned(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
