import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printable } from '../report/printable.js';
import type { OutputError } from '../report/recorder.js';
import { writeFileAtomic } from './atomic-write.js';

/** An error the system gave for a file (it has an errno code and names the call), not a bug of ours. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const io = e as NodeJS.ErrnoException;
  return typeof io?.code === 'string' && typeof io.syscall === 'string';
}

/**
 * One line for an output the system refused once the work was done (its
 * folder removed since the checks made before the work, a full disk): the
 * option, its file and why, e.g. "--json gone/a.json: not written: its folder
 * /tmp/gone no longer exists (ENOENT)". The system's own message names the
 * temporary file the write went through, which the user never asked for.
 */
export function outputFailure(option: string, file: string, e: NodeJS.ErrnoException): string {
  const folder = dirname(resolve(file));
  const why =
    e.code === 'ENOENT' && !existsSync(folder)
      ? `its folder ${folder} no longer exists`
      : // "ENOSPC: no space left on device, open '…'" (or ", write"): the description alone.
        e.message.replace(/^[A-Z]+: /, '').replace(/, \w+(?: '.*')?$/, '');
  return `${option} ${file}: not written: ${why} (${e.code})`;
}

/**
 * The ReportRecorder error handler that tells `onUnwritten` the line of an
 * output the system refused (outputFailure, as `--<output>`); an error of
 * ours is thrown. Undefined without `onUnwritten`: the recorder then throws.
 */
export function recorderOnError(onUnwritten: ((line: string) => void) | undefined): OutputError | undefined {
  if (onUnwritten === undefined) return undefined;
  return (output, file, e) => {
    if (!isSystemError(e)) throw e;
    onUnwritten(outputFailure(`--${output}`, file, e));
  };
}

/**
 * Writes the file of `option` (e.g. --json); when the system refuses, returns
 * the line that says so (outputFailure) instead of throwing, so that the
 * command still prints its results and writes its other outputs. Null when
 * written.
 */
export function writeOutput(option: string, file: string, chunks: string | Iterable<string>): string | null {
  try {
    writeFileAtomic(file, chunks);
    return null;
  } catch (e) {
    if (!isSystemError(e)) throw e;
    return outputFailure(option, file, e);
  }
}

/**
 * Says on stderr, one line each, which outputs were not written, after the
 * results were printed; returns whether any was not. The command then exits 2
 * unless it has worse to say (a model bug, an interrupt).
 */
export function reportUnwritten(lines: readonly string[]): boolean {
  for (const line of lines) process.stderr.write(`mmulab: ${printable(line)}\n`);
  return lines.length > 0;
}
