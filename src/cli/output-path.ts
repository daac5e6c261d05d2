import { accessSync, closeSync, constants, openSync, realpathSync, rmSync, type Stats, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { noteOutput, type OutputTarget, outputTarget, ownFileBeside, writeFileAtomic } from '../report/atomic-file.js';
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

/** A refused output: `${option} ${file}: ${what}`, one line. */
function refuse(option: string, file: string, what: string): InputError {
  return new InputError(`${option} ${file}: ${what}`);
}

/**
 * Refuses, before any work is done, an output file that could not be written
 * when the work is over: the path a folder, a block device or a socket, its
 * folder missing or not one, or no file can be made there (a read-only mount,
 * /proc, permissions: found by making and removing an empty file, as the
 * atomic write will make its temporary one). A symbolic link is looked at
 * where it leads, as it will be written (outputTarget); a character device or
 * a FIFO is written to as it is, so only needs to be writable. A check of
 * minutes must not end on an ENOENT. Returns where the file will be written.
 */
export function checkOutputPath(option: string, file: string): OutputTarget {
  if (file === '') throw refuse(option, file, 'expected a file name');
  let target: OutputTarget;
  try {
    target = outputTarget(file);
  } catch (e) {
    // A folder on the way that is none, or cannot be looked into.
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const dir = dirname(resolve(file));
    const kind = kindOf(dir);
    if (kind === 'none') throw refuse(option, file, `folder ${dir} does not exist`);
    if (kind !== 'folder') throw refuse(option, file, `${dir} is not a folder`);
    throw refuse(option, file, `cannot look at it (${code})`);
  }
  if (target.kind === 'refused') throw refuse(option, file, target.what);
  if (target.kind === 'fd') return target;
  if (target.kind === 'direct') {
    try {
      accessSync(target.path, constants.W_OK);
    } catch (e) {
      throw refuse(option, file, `cannot write to it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return target;
  }
  // A file there that is not to be written (its mode has no write bit, or this user may not write it) is
  // refused, not replaced: the rename would go through whatever the file's mode says (root's too).
  if (target.stats !== undefined) {
    let why = (target.stats.mode & 0o222) === 0 ? `mode ${(target.stats.mode & 0o7777).toString(8).padStart(4, '0')}` : null;
    try {
      accessSync(target.path, constants.W_OK);
    } catch (e) {
      // Not this user's to write, or immutable (EPERM).
      why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    if (why !== null) throw refuse(option, file, `not writable (${why}): expected a file it may replace, or none`);
  }
  const dir = dirname(target.path);
  const kind = kindOf(dir);
  if (kind === 'none') throw refuse(option, file, `folder ${dir} does not exist`);
  if (kind !== 'folder') throw refuse(option, file, `${dir} is not a folder`);
  const probe = ownFileBeside(target.path, 'probe');
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    throw refuse(option, file, `cannot create a file in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  rmSync(probe, { force: true });
  return target;
}

/** An output file option given to (or defaulted by) a command. */
type FileOption = { option: string; file: string; byDefault: boolean };

/**
 * The files `command` writes: by this CLI's convention, and only here, the
 * options declared with a `<file>` value. With their defaults (check's
 * cex.json), marked as such.
 */
function outputFileOptions(command: Command): FileOption[] {
  const files: FileOption[] = [];
  for (const o of command.options) {
    if (!o.flags.includes('<file>')) continue;
    const key = o.attributeName();
    const value = command.getOptionValue(key) as unknown;
    if (typeof value !== 'string') continue;
    files.push({ option: o.long ?? o.flags, file: value, byDefault: command.getOptionValueSource(key) === 'default' });
  }
  return files;
}

function fileIdentity(s: Stats): string {
  return `file ${s.dev}:${s.ino}`;
}

/** Whether two paths name one file (as two outputs or an output and an input are compared). */
export function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [outputTarget(a), outputTarget(b)].map(identityOf);
    return x !== undefined && x === y;
  } catch {
    return false;
  }
}

/**
 * What two paths must share to be the same file: the file there (device and
 * inode, whatever the links and hard links on the way), else the real folder
 * and the name the file will have.
 */
function identityOf(target: OutputTarget): string | undefined {
  if (target.kind === 'refused') return undefined;
  if (target.kind !== 'atomic') return fileIdentity(target.stats);
  if (target.stats !== undefined) return fileIdentity(target.stats);
  try {
    return `path ${join(realpathSync(dirname(target.path)), basename(target.path))}`;
  } catch {
    return `path ${target.path}`;
  }
}

function named(f: FileOption): string {
  return `${f.option} ${f.file}${f.byDefault ? ' (its default)' : ''}`;
}

/**
 * Checks every output file given to `command` (outputFileOptions) before any
 * work: each can be written (checkOutputPath; a default, such as check's
 * cex.json, is checked when it is written, not here: a check that finds
 * nothing writes nothing there); no two are the same file (but a character
 * device such as /dev/null, which keeps nothing); none is a file the command
 * reads, one of its arguments (a scenario, a counterexample, a part to merge).
 */
export function checkOutputOptions(command: Command): void {
  const outputs: { f: FileOption; id: string | undefined; shared: boolean }[] = [];
  for (const f of outputFileOptions(command)) {
    let target: OutputTarget | undefined;
    if (!f.byDefault) target = checkOutputPath(f.option, f.file);
    else {
      try {
        target = outputTarget(f.file);
      } catch {
        target = undefined; // written elsewhere if need be (writeDefaultOutput)
      }
    }
    if (target !== undefined) noteOutput(target);
    const id = target === undefined ? undefined : identityOf(target);
    outputs.push({ f, id, shared: target?.kind === 'direct' && target.stats.isCharacterDevice() });
  }
  for (const [j, b] of outputs.entries()) {
    const a = outputs.slice(0, j).find((a) => a.id !== undefined && a.id === b.id && !(a.shared && b.shared));
    if (a === undefined) continue;
    const [first, second] = b.f.byDefault && !a.f.byDefault ? [b, a] : [a, b];
    throw new InputError(`${named(second.f)}: the same file as ${named(first.f)}; only one of them would be kept, expected another file`);
  }
  for (const arg of command.args) {
    let s: Stats | undefined;
    try {
      s = statSync(arg, { throwIfNoEntry: false });
    } catch {
      continue; // not a file this command can read: it says so itself
    }
    if (s === undefined || !s.isFile()) continue;
    const out = outputs.find((o) => o.id === fileIdentity(s));
    if (out !== undefined) throw new InputError(`${named(out.f)}: is the file ${arg} read as input; it would be overwritten, expected another file`);
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
