import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertBad, fileIn } from './bad-input-asserts.js';
import { assertDefaultCheckExhausts, captured, story } from './captured-cli.js';
import { cli } from './in-process-cli.js';

const dir = tempDir('mmulab-root-zap-shared-');

test('check root-zap-shared-mini (the default check): no violation, every interleaving with at most 2 preemptions run', async () => {
  await assertDefaultCheckExhausts('root-zap-shared-mini');
});

test('check root-zap-shared-mini --mutate zap-root-request-before-invalid: the other vCPU services the request before the root is marked invalid and enters with it cached (exit 1); replay of the counterexample says the same, exit 1', async () => {
  const cex = join(dir, 'cex.json');
  const r = await captured(['check', 'root-zap-shared-mini', '--mutate', 'zap-root-request-before-invalid', '--out', cex]);
  assert.equal(r.code, 1, r.stderr);
  const lines = story(r.stdout);
  const verdict = lines.at(-1)!;
  assert.match(
    verdict,
    /^=> obsolete-root \(vCPU\d\): vCPU\d entered the guest with a bad root cached: previous root sp \d+ \(CR3 0x[0-9a-f]+\) is invalid, still cached with no request to free it pending/,
  );
  // The race: the request is made, the other vCPU finds no root obsolete, and only then is the root marked invalid.
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const request = at(/: make request KVM_REQ_MMU_FREE_OBSOLETE_ROOTS to vCPU\d$/);
  const none = at(/: kvm_mmu_free_obsolete_roots \(.*\): finds none obsolete$/);
  // The zap is traced first, as the kernel traces it; the store of role.invalid comes after the request is serviced.
  const zap = at(/[:;] kvm_mmu_prepare_zap_page: sp \d+ gfn 0x[0-9a-f]+ level 4 \(root in use\)/);
  const invalid = at(/: sp \d+ role\.invalid = 1, after the request \(the mutant's order\)/);
  assert.ok(zap >= 0 && zap < request && request < none && none < invalid, lines.join('\n'));
  const replay = await captured(['replay', cex]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.deepEqual(story(replay.stdout), lines);
});

test('bad input: workload.sharedProcesses set per vCPU is refused on one line naming the file and field', async () => {
  const f = fileIn(
    dir,
    'shared-per-vcpu.yaml',
    'vm: { vcpus: 2, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 16 }] }\nworkload: { gfnCount: 2, accesses: 2, processes: 2, sharedProcesses: true }\nvcpuWorkloads: [{ sharedProcesses: false }]\nsettings: { mmu: shadow }\n',
  );
  assertBad(await cli('run', f), /^mmulab: \S*shared-per-vcpu\.yaml:3:\d+ vcpuWorkloads\[0\]\.sharedProcesses: .*; expected it set in workload only$/);
  const g = fileIn(
    dir,
    'shared-type.yaml',
    'vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 16 }] }\nworkload: { gfnCount: 2, sharedProcesses: yes }\n',
  );
  assertBad(await cli('run', g), /^mmulab: \S*shared-type\.yaml:2:\d+ workload\.sharedProcesses: expected a boolean/);
});
