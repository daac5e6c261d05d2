import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../report/atomic-file.js';
import { InputError } from '../scenario/input-error.js';

/** What is at `path`: 'file', 'folder', 'none', or the error code that stopped the look (ENOTDIR, EACCES). */
function kindOf(path: string): string {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s === undefined ? 'none' : s.isDirectory() ? 'folder' : 'file';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'error';
  }
}

/**
 * Refuses, before any work is done, an output file that could not be written
 * when the work is over: the path a folder, its folder missing or not one, or
 * no file can be made there (a read-only mount, /proc, permissions: found by
 * making and removing an empty file, as the atomic write will make its
 * temporary one). A check of minutes must not end on an ENOENT.
 */
export function checkOutputPath(option: string, file: string): void {
  const given = `${option} ${file}`;
  if (file === '') throw new InputError(`${given}: expected a file name`);
  const path = resolve(file);
  if (kindOf(path) === 'folder') throw new InputError(`${given}: is a folder; expected a file`);
  const dir = dirname(path);
  const kind = kindOf(dir);
  if (kind === 'none') throw new InputError(`${given}: folder ${dir} does not exist`);
  if (kind !== 'folder') throw new InputError(`${given}: ${dir} is not a folder`);
  const probe = resolve(dir, `.${basename(path)}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    throw new InputError(`${given}: cannot create a file in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  rmSync(probe, { force: true });
}

/**
 * Checks every output file given to `command`: by this CLI's convention, the
 * options declared with a `<file>` value are the files it writes. A default
 * (check's cex.json) is checked when it is written, not here: a check that
 * finds nothing writes nothing there.
 */
export function checkOutputOptions(command: Command): void {
  for (const o of command.options) {
    if (!o.flags.includes('<file>')) continue;
    const key = o.attributeName();
    const value = command.getOptionValue(key) as unknown;
    if (typeof value !== 'string' || command.getOptionValueSource(key) === 'default') continue;
    checkOutputPath(o.long ?? o.flags, value);
  }
}

/**
 * Writes a file that was not asked for by name (check's default cex.json), so
 * was not checked before the work: when the folder refuses it, the file goes
 * to the system's temporary folder instead, with a warning, rather than be
 * lost. Returns where it was written.
 */
export function writeDefaultOutput(file: string, text: string): string {
  try {
    writeFileAtomic(file, text);
    return file;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    const fallback = join(tmpdir(), `mmulab-${process.pid}-${basename(file)}`);
    writeFileAtomic(fallback, text);
    process.stderr.write(`mmulab: warning: cannot write ${file} (${code}); written to ${fallback} instead\n`);
    return fallback;
  }
}
