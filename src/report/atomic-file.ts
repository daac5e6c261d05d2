import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `file` from `chunks` so that readers see the old content or the new,
 * never a part: a temporary file in the same folder, then a rename. Chunks are
 * written as they come, so a large trace is never one string.
 */
export function writeFileAtomic(file: string, chunks: string | Iterable<string>): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  let fd = openSync(tmp, 'w');
  try {
    if (typeof chunks === 'string') writeSync(fd, chunks);
    else {
      // Batch small chunks: one syscall per line would dominate for big traces.
      let buf = '';
      for (const c of chunks) {
        buf += c;
        if (buf.length >= 1 << 16) {
          writeSync(fd, buf);
          buf = '';
        }
      }
      if (buf.length > 0) writeSync(fd, buf);
    }
    const f = fd;
    fd = -1;
    closeSync(f);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, file);
}
