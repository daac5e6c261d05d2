import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { captured, story } from './captured-cli.js';

const dir = tempDir('mmulab-zap-lockbreak-');

test('check memslot-delete-lockbreak-mini --mutate zap-obsolete-walk-from-head: the fast zap breaks mmu_lock, a vCPU makes a page in the break, the walk restarted from the head stops at it (exit 1, obsolete-page); replay says the same', async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'memslot-delete-lockbreak-mini', '--mutate', 'zap-obsolete-walk-from-head', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  assert.match(lines.at(-1)!, /^=> obsolete-page \(vmm\): kvm_mmu_zap_all_fast returned with a page of the old generation left: sp \d+ /);
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const lockBreak = at(/vmm: .*kvm_zap_obsolete_pages: .*(drop|break)/);
  assert.ok(lockBreak >= 0, lines.join('\n'));
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
});
