import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { noteOutput, outputTarget, ownFileBeside, removeTempFiles } from '../../src/report/atomic-file.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('mmulab-temp-files-');

test('removeTempFiles: an exit in the middle of writing a noted output (a second SIGINT) leaves no temporary file, and the old file as it was (a probe: a 10.7 MB .t.json.<pid>.tmp stayed)', () => {
  const out = join(dir, 't.json');
  writeFileSync(out, 'old');
  noteOutput(outputTarget(out));
  // What writeFileAtomic has open while it writes (.t.json.<host>.<pid>.tmp).
  const tmp = ownFileBeside(out, 'tmp');
  writeFileSync(tmp, 'half a trace');
  removeTempFiles();
  assert.equal(existsSync(tmp), false);
  assert.equal(readFileSync(out, 'utf8'), 'old');
  // Another process's temporary file is not ours to remove.
  const other = ownFileBeside(out, 'tmp').replace(`.${process.pid}.tmp`, `.${process.pid + 1}.tmp`);
  writeFileSync(other, 'theirs');
  removeTempFiles();
  assert.equal(existsSync(other), true);
});
