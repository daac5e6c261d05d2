import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Where a write to `file` goes, symbolic links followed:
 * - `fd`: one of this process's own descriptors (/dev/stdout, /dev/fd/N,
 *   /proc/self/fd/N) open on a file or a socket, written at its offset, as
 *   the process's own output is (opened again, a file would be written from
 *   its beginning, over that output);
 * - `direct`: a character device (/dev/null, a terminal) or a FIFO (a pipe,
 *   also behind /dev/stdout), opened and written as it is: a rename would
 *   replace it with a regular file;
 * - `atomic`: a regular file, or none yet: written next to `path` and renamed
 *   onto it (for a link, `path` is its target, so the link stays a link);
 * - `refused`: something no write should go to (a block device, a socket,
 *   a folder, a loop of links), said in `what`.
 * `stats` is what is there (followed), when anything is.
 */
export type OutputTarget =
  | { kind: 'fd'; fd: number; stats: Stats }
  | { kind: 'direct'; path: string; stats: Stats }
  | { kind: 'atomic'; path: string; stats: Stats | undefined }
  | { kind: 'refused'; what: string };

const MAX_LINKS = 40;

/** `/proc/<this process>[/task/<tid>]/fd/<n>` (what /dev/stdout, /dev/fd/N and /proc/self/fd/N lead to): n. */
function ownFd(path: string): number | undefined {
  let real: string;
  try {
    real = join(realpathSync(dirname(path)), basename(path));
  } catch {
    return undefined;
  }
  const m = /^\/proc\/(\d+)(?:\/task\/\d+)?\/fd\/(\d+)$/.exec(real);
  return m !== null && Number(m[1]) === process.pid ? Number(m[2]) : undefined;
}

function kindName(s: Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Where a write to `file` goes (see OutputTarget). Throws only what the system says of the folders on the way (EACCES, ENOTDIR, …). */
export function outputTarget(file: string): OutputTarget {
  let path = resolve(file);
  for (let hops = 0; ; hops++) {
    const fd = ownFd(path);
    if (fd !== undefined) {
      let s: Stats;
      try {
        s = statSync(path);
      } catch (e) {
        return { kind: 'refused', what: `descriptor ${fd} is not open (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
      }
      // A pipe or a terminal is opened again (blocking, whatever this process made of its descriptor);
      // a file is not (the new opening would start at its beginning, over what was written).
      if (s.isCharacterDevice() || s.isFIFO()) return { kind: 'direct', path, stats: s };
      if (s.isFile() || s.isSocket()) return { kind: 'fd', fd, stats: s };
      return { kind: 'refused', what: `is ${kindName(s)}; expected a file` };
    }
    const l = lstatSync(path, { throwIfNoEntry: false });
    if (l === undefined) return { kind: 'atomic', path, stats: undefined };
    if (l.isSymbolicLink()) {
      if (hops >= MAX_LINKS) return { kind: 'refused', what: 'too many levels of symbolic links' };
      // Relative to the link's real folder, as the system reads it (a '..' after a linked folder).
      path = resolve(realpathSync(dirname(path)), readlinkSync(path));
      continue;
    }
    if (l.isFile()) return { kind: 'atomic', path, stats: l };
    if (l.isCharacterDevice() || l.isFIFO()) return { kind: 'direct', path, stats: l };
    return { kind: 'refused', what: `is ${kindName(l)}; expected a file` };
  }
}

/** Writes all of `buf` to `fd`: a pipe or a socket may take part of it, or none for now (EAGAIN, when non-blocking). */
function writeBuffer(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) {
    try {
      done += writeSync(fd, buf, done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/**
 * A hidden file of this process's beside `path`, `.name.HOST.PID.kind`: the host's name and the pid, so that
 * processes of several machines writing into one shared folder (parts of a sweep on NFS) never share one.
 * The same on every thread of the process (removeTempFiles finds those of its workers).
 */
export function ownFileBeside(path: string, kind: string): string {
  return join(dirname(path), `.${basename(path)}.${hostname().replaceAll('/', '_')}.${process.pid}.${kind}`);
}

/** The temporary file a write to `path` goes through: this process's, beside it. */
function tempFileOf(path: string): string {
  return ownFileBeside(path, 'tmp');
}

/** Files this process may be writing through a temporary file (noteOutput), on any of its threads. */
const outputs = new Set<string>();

/** Notes an output target written through a temporary file, so that removeTempFiles can clean up after a kill mid-write. */
export function noteOutput(target: OutputTarget): void {
  if (target.kind === 'atomic') outputs.add(target.path);
}

/**
 * Removes the temporary files of the outputs noted, for an exit in the middle
 * of writing one (a second SIGINT): the old file, if any, is left as it was.
 */
export function removeTempFiles(): void {
  for (const path of outputs) rmSync(tempFileOf(path), { force: true });
}

/** Writes `chunks` to `fd`, small chunks batched: one syscall per line would dominate for big traces. */
function writeAll(fd: number, chunks: string | Iterable<string>): void {
  if (typeof chunks === 'string') {
    writeBuffer(fd, Buffer.from(chunks));
    return;
  }
  let buf = '';
  for (const c of chunks) {
    buf += c;
    if (buf.length >= 1 << 16) {
      writeBuffer(fd, Buffer.from(buf));
      buf = '';
    }
  }
  if (buf.length > 0) writeBuffer(fd, Buffer.from(buf));
}

/**
 * Writes `file` from `chunks` so that readers see the old content or the new,
 * never a part: a temporary file in the same folder, then a rename. Chunks are
 * written as they come, so a large trace is never one string. A symbolic link
 * is followed (its target is replaced, the link stays); a character device or
 * a FIFO (/dev/null, /dev/stdout, a pipe) is written to as it is, never
 * replaced (see outputTarget).
 */
export function writeFileAtomic(file: string, chunks: string | Iterable<string>): void {
  const target = outputTarget(file);
  if (target.kind === 'refused') {
    throw Object.assign(new Error(`${file}: ${target.what}`), { code: 'EINVAL', syscall: 'open', path: file });
  }
  if (target.kind === 'fd') {
    writeAll(target.fd, chunks);
    return;
  }
  if (target.kind === 'direct') {
    // No O_CREAT, no O_TRUNC: it is there, and is no file to cut.
    const fd = openSync(target.path, constants.O_WRONLY);
    try {
      writeAll(fd, chunks);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const tmp = tempFileOf(target.path);
  let fd = openSync(tmp, 'w');
  try {
    // The new file keeps the old one's mode (one made 0600 stays private), as an in-place write would.
    if (target.stats !== undefined) fchmodSync(fd, target.stats.mode & 0o7777);
    writeAll(fd, chunks);
    // On the disk before it takes the old file's name: a crash just after the rename leaves the new file whole.
    fsyncSync(fd);
    const f = fd;
    fd = -1;
    closeSync(f);
    // A rename the system refuses (the old file immutable, the folder's permissions changed meanwhile) leaves no temporary file.
    renameSync(tmp, target.path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}
