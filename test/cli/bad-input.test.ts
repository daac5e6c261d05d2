import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { assertBad, fileIn, GOOD_SCENARIO } from './bad-input-asserts.js';
import { captured } from './captured-cli.js';

const dir = tempDir('mmulab-bad-');

/**
 * Runs the CLI in this process (captured-cli: stdout, stderr and the exit code
 * main returns, which src/cli/entry.ts only sets as the process's): a process
 * of its own per call, under tsx, took about a second before the CLI began.
 */
const cli = (...args: string[]) => captured(args);

const scenarioFile = (name: string, text: string) => fileIn(dir, name, text);
const GOOD = GOOD_SCENARIO;

test('bad input: a misspelt key is located and named', async () => {
  const f = scenarioFile('misspelt.yaml', GOOD.replace('vcpus', 'vcpu'));
  assertBad(await cli('run', f), new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:3 vm.vcpu: unknown key 'vcpu'`));
});

test('bad input: a wrong type names the field and what was expected', async () => {
  const f = scenarioFile('type.yaml', GOOD.replace('vcpus: 2', 'vcpus: two'));
  assertBad(await cli('run', f), /type\.yaml:2:10 vm\.vcpus: expected a number/);
});

test('bad input: a negative count', async () => {
  const f = scenarioFile('neg.yaml', GOOD.replace('pages: 64', 'pages: -4'));
  assertBad(await cli('run', f), /neg\.yaml:4:35 vm\.memslots\[0\]\.pages: expected >= 1/);
});

test('bad input: an unknown built-in lists the known ones', async () => {
  assertBad(await cli('run', 'no-such-scenario'), /no-such-scenario: unknown built-in scenario; expected one of .*fault-during-invalidation/);
});

test('bad input: an unreadable file', async () => {
  assertBad(await cli('run', join(dir, 'missing.yaml')), /missing\.yaml: cannot read scenario file \(no such file\)/);
});

test('bad input: malformed YAML is located', async () => {
  const f = scenarioFile('broken.yaml', 'vm:\n  vcpus: [1, 2\n');
  assertBad(await cli('run', f), /broken\.yaml:\d+:\d+ malformed YAML\/JSON: /);
});

test('bad input: memslots and changes KVM_SET_USER_MEMORY_REGION would refuse are located and named (the model does not run those failures)', async () => {
  const slots = GOOD.replace('    - { id: 0, baseGfn: 0, pages: 64 }', '    - { id: 0, baseGfn: 0, pages: 64 }\n    - { id: 1, baseGfn: 4096, pages: 64 }');
  const withChange = (change: string) => `${slots}host:\n  memslotChanges:\n    - ${change}\n`;
  const cases: [string, string, RegExp][] = [
    ['dup.yaml', slots.replace('id: 1,', 'id: 0,'), /:5:13 vm\.memslots\[1\]\.id: memslot id 0 is used twice$/],
    ['overlap.yaml', slots.replace('baseGfn: 4096', 'baseGfn: 32'), /vm\.memslots\[1\]\.baseGfn: gfns \[0x20, 0x60\) overlap memslot 0's \[0x0, 0x40\)$/],
    [
      'del.yaml',
      withChange('{ atNs: 1000, op: delete, slot: 9 }'),
      /host\.memslotChanges\[0\]\.slot: delete of memslot 9, which does not exist then \(memslots: 0, 1\); KVM would refuse it \(EINVAL\)$/,
    ],
    [
      'create.yaml',
      withChange('{ atNs: 1000, op: create, slot: 5, baseGfn: 10, pages: 4 }'),
      /\.baseGfn: create of memslot 5 at \[0xa, 0xe\) overlaps memslot 0's \[0x0, 0x40\); KVM would refuse it \(EEXIST\)$/,
    ],
    ['move.yaml', withChange('{ atNs: 1000, op: move, slot: 1, baseGfn: 0 }'), /\.baseGfn: move of memslot 1 to \[0x0, 0x40\) overlaps memslot 0's/],
    [
      'move-same.yaml',
      withChange('{ atNs: 1000, op: move, slot: 1, baseGfn: 4096 }'),
      /\.baseGfn: move of memslot 1 to gfn 0x1000, where it is then: KVM would change nothing/,
    ],
    // The APIC-access page's private memslot (vm.apicAccessPage, on by default) is KVM's at gfn 0xfee00.
    [
      'apic.yaml',
      slots.replace('baseGfn: 4096, pages: 64', 'baseGfn: 0xfe000, pages: 8192'),
      /vm\.memslots\[1\]\.baseGfn: gfns \[0xfe000, 0x100000\) overlap the APIC-access page's private memslot \[0xfee00, 0xfee01\) \(vm\.apicAccessPage is true\); KVM would refuse it \(EEXIST\)$/,
    ],
    [
      'apic-create.yaml',
      withChange('{ atNs: 1000, op: create, slot: 5, baseGfn: 0xfee00, pages: 1 }'),
      /\.baseGfn: create of memslot 5 at \[0xfee00, 0xfee01\) overlaps the APIC-access page's private memslot/,
    ],
    [
      'apic-move.yaml',
      withChange('{ atNs: 1000, op: move, slot: 1, baseGfn: 0xfede0 }'),
      /\.baseGfn: move of memslot 1 to \[0xfede0, 0xfee20\) overlaps the APIC-access page's/,
    ],
  ];
  for (const [name, text, pattern] of cases) assertBad(await cli('run', scenarioFile(name, text)), pattern);
  // In time order: a delete, then a create of the same id, is fine.
  const r = await cli(
    'run',
    scenarioFile('seq.yaml', `${withChange('{ atNs: 2000, op: create, slot: 1, baseGfn: 8192, pages: 8 }')}    - { atNs: 1000, op: delete, slot: 1 }\n`),
  );
  assert.equal(r.code, 0, r.stderr);
  // Without an APIC-access page, gfn 0xfee00 is the VMM's to map.
  const noApic = slots.replace('vcpus: 2', 'vcpus: 2\n  apicAccessPage: false').replace('baseGfn: 4096, pages: 64', 'baseGfn: 0xfe000, pages: 8192');
  const free = await cli('run', scenarioFile('no-apic.yaml', noApic));
  assert.equal(free.code, 0, free.stderr);
});

test('bad input: each memslot change op takes its own fields, all required, and no other (no silent gfn 0, 1 page, or ignored pages)', async () => {
  const slots = GOOD.replace('    - { id: 0, baseGfn: 0, pages: 64 }', '    - { id: 0, baseGfn: 0, pages: 64 }\n    - { id: 1, baseGfn: 4096, pages: 64 }');
  const withChange = (change: string) => `${slots}host:\n  memslotChanges:\n    - ${change}\n`;
  const cases: [string, string, RegExp][] = [
    [
      'create-no-base.yaml',
      withChange('{ atNs: 1000, op: create, slot: 5, pages: 4 }'),
      /:\d+:7 host\.memslotChanges\[0\]\.baseGfn: missing; expected a number \(a create takes slot, baseGfn and pages\)$/,
    ],
    [
      'create-no-pages.yaml',
      withChange('{ atNs: 1000, op: create, slot: 5, baseGfn: 8192 }'),
      /host\.memslotChanges\[0\]\.pages: missing; expected a number \(a create takes slot, baseGfn and pages\)$/,
    ],
    [
      'move-no-base.yaml',
      withChange('{ atNs: 1000, op: move, slot: 1 }'),
      /host\.memslotChanges\[0\]\.baseGfn: missing; expected a number \(a move takes slot and baseGfn\)$/,
    ],
    [
      'move-pages.yaml',
      withChange('{ atNs: 1000, op: move, slot: 1, baseGfn: 8192, pages: 2 }'),
      /host\.memslotChanges\[0\]\.pages: not taken by a move; expected no pages \(a move takes slot and baseGfn\)$/,
    ],
    [
      'delete-pages.yaml',
      withChange('{ atNs: 1000, op: delete, slot: 1, pages: 1 }'),
      /:\d+:\d+ host\.memslotChanges\[0\]\.pages: not taken by a delete; expected no pages \(a delete takes slot only\)$/,
    ],
    [
      'delete-base.yaml',
      withChange('{ atNs: 1000, op: delete, slot: 1, baseGfn: 0 }'),
      /\.baseGfn: not taken by a delete; expected no baseGfn \(a delete takes slot only\)$/,
    ],
    [
      'hva.yaml',
      withChange('{ atNs: 1000, op: create, slot: 5, baseGfn: 8192, pages: 4, hvaPage: 7 }'),
      /host\.memslotChanges\[0\]\.hvaPage: unknown key 'hvaPage', expected one of atNs, op, slot, baseGfn, pages$/,
    ],
  ];
  for (const [name, text, pattern] of cases) assertBad(await cli('run', scenarioFile(name, text)), pattern);
});

test('bad input: threads that would reach no memory are located and named (a run that measures nothing of what it was written for)', async () => {
  const cases: [string, string, RegExp][] = [
    // One invalidation is one host range: its gfns lie in one memslot (or in memslots whose host ranges follow on), its ranges within its gfns.
    [
      'inv-two-slots.yaml',
      GOOD.replace('pages: 64 }', 'pages: 64 }\n    - { id: 1, baseGfn: 64, pages: 64 }').concat(
        'host:\n  invalidations:\n    - { kind: reclaim, gfnStart: 0, gfnCount: 128, rangePages: 128 }\n',
      ),
      /host\.invalidations\[0\]\.gfnStart: gfns \[0x0, 0x80\) cross memslot 0 \[0x0, 0x40\) \(host pages \[0x3f8000000, 0x3f8000040\)\) and memslot 1 \[0x40, 0x80\) \(host pages \[0x3f8000240, 0x3f8000280\)\), whose host ranges do not follow on: .*expected one entry per memslot, or memslots whose hvaPage ranges follow on as their gfns do$/,
    ],
    [
      'inv-past-slot.yaml',
      `${GOOD}host:\n  invalidations:\n    - { kind: reclaim, gfnStart: 32, gfnCount: 64, rangePages: 8 }\n`,
      /host\.invalidations\[0\]\.gfnStart: gfns \[0x20, 0x60\) reach past the memslot at \[0x0, 0x40\) into gfns no memslot holds: expected gfns within it$/,
    ],
    [
      'inv-wide-range.yaml',
      `${GOOD}host:\n  invalidations:\n    - { kind: reclaim, gfnStart: 0, gfnCount: 16 }\n`,
      /host\.invalidations\[0\]\.rangePages: ranges of 512 pages do not fit in gfns \[0x0, 0x10\) \(gfnCount 16\): expected rangePages <= gfnCount$/,
    ],
    [
      'wide.yaml',
      GOOD.replace('gfnCount: 64', 'gfnCount: 1000'),
      /:8:13 workload\.gfnCount: vCPU0's gfns \[0x0, 0x3e8\) reach gfn 0x40, which no memslot ever holds: its accesses there would be MMIO exits, not memory$/,
    ],
    ['extra.yaml', `${GOOD}vcpuWorkloads:\n  - {}\n  - {}\n  - { accesses: 5 }\n`, /vcpuWorkloads\[2\]: 3 entries for 2 vCPUs: entry 2 has no vCPU$/],
    [
      'nowhere.yaml',
      `${GOOD}host:\n  invalidations:\n    - { kind: reclaim, gfnStart: 1000, gfnCount: 10, count: 2 }\n`,
      /host\.invalidations\[0\]\.gfnStart: gfns \[0x3e8, 0x3f2\) lie in no memslot: the host would invalidate nothing KVM maps$/,
    ],
  ];
  for (const [name, text, pattern] of cases) assertBad(await cli('run', scenarioFile(name, text)), pattern);
  // A memslot created later holds them: fine.
  const later = `${GOOD}host:\n  invalidations:\n    - { kind: reclaim, gfnStart: 1000, gfnCount: 10, rangePages: 4, count: 2 }\n  memslotChanges:\n    - { atNs: 10, op: create, slot: 3, baseGfn: 1000, pages: 16 }\n`;
  const r = await cli('run', scenarioFile('later.yaml', later));
  assert.equal(r.code, 0, r.stderr);
});

test('bad input: an unknown setting and an unknown mutant on the command line', async () => {
  const f = scenarioFile('ok.yaml', GOOD);
  assertBad(await cli('run', f, '--set', 'faultPrecheck=maybe'), /--set faultPrecheck=maybe: faultPrecheck expects one of lockless, off/);
  assertBad(await cli('run', f, '--mutate', 'nope'), /--mutate nope: unknown mutant/);
});

test('bad input: the dirty-log knobs take a flavour and a ring size, and only where the scenario logs a slot', async () => {
  assertBad(
    await cli('compare', 'dirty-log-mini', '--vary', 'dirtyLog=get,bogus'),
    /^mmulab: --vary dirtyLog=get,bogus: dirtyLog expects one of get, manual, manual-initially-set, ring, ring:N \(N a power of two from 2 to 65536\)$/,
  );
  assertBad(
    await cli('compare', 'dirty-log-mini', '--vary', 'dirtyLog=ring:3'),
    /^mmulab: --vary dirtyLog=ring:3: a ring's size is a power of two from 2 to 65536$/,
  );
  assertBad(
    await cli('run', 'dirty-ring-mini', '--set', 'ringSize=131072'),
    /^mmulab: --set ringSize=131072: ringSize expects a power of two from 2 to 65536$/,
  );
  assertBad(
    await cli('compare', 'dirty-log-mini', '--vary', 'dirtyLog=ring:4,ring:04'),
    /^mmulab: --vary dirtyLog=ring:4,ring:04: dirtyLog=ring:4 given twice/,
  );
  // No dirty log to change: refused, not run as the scenario is.
  assertBad(
    await cli('compare', 'fault-vs-invalidation-mini', '--vary', 'dirtyLog=get,ring'),
    /^mmulab: fault-vs-invalidation-mini \(dirtyLog=get\): dirtyLog=get: the scenario has no dirty logging \(host\.dirtyLog is absent\); expected a scenario with one/,
  );
  assertBad(await cli('run', 'fault-vs-invalidation-mini', '--set', 'ringSize=8'), /^mmulab: --set ringSize=8: the scenario has no dirty logging/);
  // A ring size for a bitmap.
  assertBad(
    await cli('compare', 'dirty-log-mini', '--vary', 'ringSize=4,8'),
    /^mmulab: dirty-log-mini \(ringSize=4\): ringSize=4: the scenario's dirty log is a bitmap \(protect get\); expected mode ring \(dirtyLog=ring, or dirtyLog=ring:4 alone\)$/,
  );
});

test('bad input: --vary of a size knob takes counts, vCPUs from 1 to 1024', async () => {
  assertBad(await cli('sweep', 'fault-vs-invalidation-mini', '--vary', 'vcpus=2,0', '--workers', '0'), /^mmulab: --vary vcpus=2,0: expected at least 1 vCPU$/);
  assertBad(await cli('compare', 'fault-vs-invalidation-mini', '--vary', 'vcpus=x'), /^mmulab: --vary vcpus=x: expected a positive integer$/);
  // -1 and 0 refused alike, as a count of at least 1 (a probe: -1 said "a non-negative integer", then 0 "at least 1 vCPU"); a knob that may be 0 says non-negative.
  assertBad(await cli('run', 'fault-vs-invalidation-mini', '--set', 'vcpus=-1'), /^mmulab: --set vcpus=-1: expected a positive integer$/);
  assertBad(await cli('run', 'fault-vs-invalidation-mini', '--set', 'invalidations=-1'), /^mmulab: --set invalidations=-1: expected a non-negative integer$/);
  assertBad(
    await cli('sweep', 'fault-vs-invalidation-mini', '--vary', 'vcpus=1,2', '--seeds', '-1', '--workers', '0'),
    /^mmulab: --seeds -1: expected a positive integer$/,
  );
  assertBad(await cli('compare', 'fault-vs-invalidation-mini', '--vary', 'vcpus=2000'), /^mmulab: --vary vcpus=2000: expected at most 1024$/);
  // A size the model refuses (vCPU2's page tables past the memslots) names its row, before anything runs, from workers too.
  assertBad(
    await cli('sweep', 'slot-zap-accounting', '--vary', 'vcpus=2,3', '--workers', '2'),
    /^mmulab: slot-zap-accounting \(vcpus=3\): vm\.memslots: vCPU2's page tables, its \d+ gfns after the guest kernel's and the vCPUs' before at .*, lie outside the memslot holding page tables; expected one holding .*, or fewer vCPUs$/,
  );
  // Fewer vCPUs than the scenario gives workloads of their own: refused, not run with the extra entries ignored.
  assertBad(
    await cli('sweep', 'slot-zap-accounting', '--vary', 'vcpus=1,2', '--workers', '2'),
    /^mmulab: slot-zap-accounting \(vcpus=1\): vcpus=1: the scenario gives 2 vCPUs workloads of their own \(vcpuWorkloads\); expected vcpus >= 2$/,
  );
  assertBad(
    await cli('run', 'slot-zap-accounting', '--set', 'vcpus=1'),
    /^mmulab: --set vcpus=1: the scenario gives 2 vCPUs workloads of their own \(vcpuWorkloads\); expected vcpus >= 2$/,
  );
  // A knob the scenario has nothing to resize with: refused, not ignored.
  assertBad(
    await cli('run', 'apic-reload-mini', '--set', 'invalidations=5'),
    /^mmulab: --set invalidations=5: the scenario has no host invalidation thread to resize \(host\.invalidations is empty\); expected a scenario with one$/,
  );
  // Seeds past what --seed takes: a cell run could not reproduce.
  const bigSeed = scenarioFile(
    'big-seed.yaml',
    `${readFileSync('scenarios/fault-vs-invalidation-mini.yaml', 'utf8').replace(/^seed: .*$/m, '')}seed: 2147483647\n`,
  );
  for (const extra of [['compare'], ['sweep', '--workers', '0']])
    assertBad(
      await cli(extra[0]!, bigSeed, '--vary', 'faultPrecheck=off,lockless', '--seeds', '2', ...extra.slice(1)),
      /^mmulab: --seeds 2: seeds 2147483647 to 2147483648, past 2147483647; expected at most 1 from seed 2147483647$/,
    );
  // A key varied twice: the later would win and the rows' labels would lie.
  assertBad(
    await cli('sweep', 'fault-vs-invalidation-mini', '--vary', 'mmu=tdp', '--vary', 'mmu=shadow', '--workers', '0'),
    /^mmulab: --vary mmu=shadow: mmu is varied twice; expected each key once, its values together \(--vary mmu=a,b\)$/,
  );
});

test('bad input: check --time-limit takes seconds as run does (fractions allowed, more than 0)', async () => {
  assertBad(
    await cli('check', 'fault-vs-invalidation-mini', '--time-limit', '0'),
    /^mmulab: --time-limit 0: expected seconds, a decimal number \(2, 0\.5, 1e-3\) > 0 and <= 604800$/,
  );
  const r = await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'pct', '--time-limit', '0.2');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^pct: [\d,]+ executions \((time-limit|max-executions)\)/m);
  // Decimal forms a user writes (a probe: 1e-3 and .5 were refused, 0.001 taken); hex and words are not seconds.
  for (const t of ['.2', '2e-1']) assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'pct', '--time-limit', t)).code, 0, t);
  for (const t of ['0x1', 'Infinity', '1e9', '.'])
    assertBad(await cli('check', 'fault-vs-invalidation-mini', '--time-limit', t), /expected seconds, a decimal number/);
});

test('bad input: check of a shadow-paged scenario whose memslot delete takes away page tables a vCPU may still walk (time orders them only in the simulator)', async () => {
  assertBad(
    await cli('check', 'slot-zap-accounting', '--set', 'faultsPerVcpu=2'),
    /^mmulab: slot-zap-accounting: host\.memslotChanges\[0\] \(delete of memslot 2\) takes away the page tables of vCPU1, which may still walk them: the checker ignores time \(atNs\).*or --set mmu=tdp$/,
  );
  // The same scenario under TDP has no guest page tables for KVM to walk.
  const r = await cli('check', 'slot-zap-accounting', '--set', 'faultsPerVcpu=1', '--set', 'mmu=tdp', '--strategy', 'pct', '--max-executions', '20');
  assert.equal(r.code, 0, r.stderr);
});

test('bad input: check of more threads than the checker handles (32) names the count and the vCPUs to ask for', async () => {
  assertBad(
    await cli('check', 'fault-vs-invalidation-mini', '--set', 'vcpus=40'),
    /^mmulab: fault-vs-invalidation-mini: 41 threads \(40 vCPUs and 1 host thread\): the checker handles at most 32; expected --set vcpus=31 or fewer$/,
  );
});

test('bad input: check of a scenario whose threads have no count (every execution would be cut at --max-steps, a false livelock)', async () => {
  assertBad(
    await cli('check', 'fault-during-invalidation'),
    /^mmulab: fault-during-invalidation: 16 vCPUs with workload\.accesses 0 \(no limit\), host\.invalidations\[0\] with count 0 \(no limit\): the checker runs every thread to its end .*expected --set faultsPerVcpu=F with F at least 1, --set invalidations=I with I at least 1, or a \*-mini check scenario$/,
  );
  assertBad(
    await cli('audit', 'memslot-zap-livelock'),
    /^mmulab: memslot-zap-livelock: 16 vCPUs with workload\.accesses 0 \(no limit\): the checker runs every thread/,
  );
  // The remedy names only what helps: no --set sizes the APIC-access page's migrations, and faultsPerVcpu=0 is no count.
  assertBad(
    await cli('check', 'apic-page-reload', '--set', 'faultsPerVcpu=1', '--set', 'invalidations=1'),
    /^mmulab: apic-page-reload: host\.apicPageMigrations 0 \(no limit\): .*expected host\.apicPageMigrations at least 1 in the scenario \(no --set sizes it\), or a \*-mini check scenario$/,
  );
  assertBad(
    await cli('check', 'fault-vs-invalidation-mini', '--set', 'faultsPerVcpu=0'),
    /expected --set faultsPerVcpu=F with F at least 1, or a \*-mini check scenario$/,
  );
});

test('a good scenario runs and exits 0; list --json has scenarios, settings and mutants', async () => {
  const f = scenarioFile('ok2.yaml', GOOD);
  const r = await cli('run', f, '--json', join(dir, 'out.json'));
  assert.equal(r.code, 0, r.stderr);
  const l = await cli('list', '--json');
  const j = JSON.parse(l.stdout);
  assert.ok(j.scenarios.some((s: { name: string }) => s.name === 'fault-during-invalidation'));
  assert.ok(j.settings.some((s: { key: string }) => s.key === 'faultPrecheck'));
  assert.ok(j.mutants.every((m: { scenario: string }) => typeof m.scenario === 'string'));
});

test('bad input: shadow page tables a scenario cannot hold, and memslots that clash with the ones KVM and the model add, are refused at the field (exit 2), not model bugs', async () => {
  const shadow = (name: string, body: string) => scenarioFile(name, `${body}\nsettings: { mmu: shadow }\nstop: { timeNs: 10000000 }\n`);
  // Too few page-table pages for the processes, known up front.
  assertBad(
    await cli(
      'run',
      shadow(
        'procs.yaml',
        'vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 1024 }] }\nworkload: { gfnCount: 1024, processes: 5000, processSwitchNs: 1000, pageTableGfns: 4096 }',
      ),
    ),
    /^mmulab: \S*procs\.yaml:2:84 workload\.pageTableGfns: 4096 pages cannot hold the page tables of vCPU0's processes: at least 20000 are needed .*; expected at least 20000$/,
  );
  // … and known only once the process maps more than they hold (it was "MODEL BUG", exit 3).
  assertBad(
    await cli(
      'run',
      shadow(
        'pt-small.yaml',
        'vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 65536 }] }\nworkload: { gfnCount: 65536, accesses: 1000, pageTableGfns: 4 }',
      ),
    ),
    /^mmulab: \S*pt-small\.yaml:2:\d+ workload\.pageTableGfns: vCPU0's guest page tables, \d+ pages, ran out at gfn 0x8000404: expected more page-table pages/,
  );
  // Ids above KVM_USER_MEM_SLOTS are KVM's own (the model's page-table memslot took 32766 too).
  assertBad(
    await cli(
      'run',
      scenarioFile('id.yaml', 'vm: { vcpus: 1, memslots: [{ id: 32766, baseGfn: 0, pages: 16 }] }\nworkload: { gfnCount: 16 }\nstop: { timeNs: 1000 }\n'),
    ),
    /id\.yaml:1:\d+ vm\.memslots\[0\]\.id: expected <= 32763$/,
  );
  // A memslot over the page-table memslot shadow paging adds.
  assertBad(
    await cli(
      'run',
      shadow(
        'pt-overlap.yaml',
        'vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 1024 }, { id: 1, baseGfn: 134217738, pages: 8192 }] }\nworkload: { gfnCount: 16, pageTableGfnStart: 134217738 }',
      ),
    ),
    /^mmulab: \S*pt-overlap\.yaml:1:\d+ vm\.memslots: memslot 1's gfns \[0x800000a, 0x800200a\) overlap the page-table memslot shadow paging adds at \[0x8000000, .*\) when no memslot holds gfn 0x8000000/,
  );
});

test('size knobs: the shadow-paged check scenarios take more vCPUs (their page tables get room), and F applies to vCPUs with workloads of their own', async () => {
  for (const ref of ['memslot-delete-mini', 'root-zap-mini']) {
    const r = await cli('check', ref, '--set', 'vcpus=3', '--strategy', 'pct', '--max-executions', '200', '--out', join(dir, `${ref}-3.json`));
    assert.equal(r.code, 0, r.stderr);
  }
  const json = join(dir, 'slot-f.json');
  const r = await cli('run', 'slot-zap-accounting', '--set', 'faultsPerVcpu=3', '--json', json);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(json, 'utf8')).metrics.guest.accesses, 6);
});

test('bad input found once the model is built or run names the scenario file (it named only a field)', async () => {
  const f = scenarioFile(
    'zero-cost.yaml',
    'vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 16 }] }\nworkload: { gfnCount: 16, accessIntervalNs: 0 }\ncosts: { guestAccessNs: 0 }\nstop: { timeNs: 1000000 }\n',
  );
  assertBad(await cli('run', f), new RegExp(`^mmulab: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: virtual time stood still at \\d+ ns for \\d+ steps`));
});

test('bad input: bounds say what they are: exclusive ones (> 0), a string in characters, a list in items (a probe: hotFraction 0 said "expected >= 0", name "" "expected >= 1", memslots [] "at least 1 items")', async () => {
  const slot = 'vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 1024 }] }';
  const cases: [string, string, RegExp][] = [
    ['hot0.yaml', `${slot}\nworkload: { gfnCount: 1024, hotFraction: 0 }\nstop: { timeNs: 1000 }\n`, /hot0\.yaml:2:42 workload\.hotFraction: expected > 0$/],
    [
      'zipf0.yaml',
      `${slot}\nworkload: { gfnCount: 1024, pattern: zipf, zipfS: 0 }\nstop: { timeNs: 1000 }\n`,
      /zipf0\.yaml:2:51 workload\.zipfS: expected > 0$/,
    ],
    ['name0.yaml', `name: ""\n${slot}\nstop: { timeNs: 1000 }\n`, /name0\.yaml:1:7 name: expected at least 1 character$/],
    ['name201.yaml', `name: "${'x'.repeat(201)}"\n${slot}\nstop: { timeNs: 1000 }\n`, /name201\.yaml:1:7 name: expected at most 200 characters$/],
    ['slots0.yaml', 'vm: { vcpus: 1, memslots: [] }\nstop: { timeNs: 1000 }\n', /slots0\.yaml:1:27 vm\.memslots: expected at least 1 item$/],
  ];
  for (const [name, text, pattern] of cases) assertBad(await cli('run', scenarioFile(name, text)), pattern);
});

test('bad input found after the schema, at a field the file writes, is located there as the schema locates (a probe: "sh27.yaml: workload: …" had no line:col)', async () => {
  const f = scenarioFile(
    'user-half.yaml',
    'vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 134217728, pages: 100000 }] }\nworkload: { gfnStart: 134217728, gfnCount: 1024 }\nsettings: { mmu: shadow }\nstop: { timeNs: 100000 }\n',
  );
  assertBad(
    await cli('run', f),
    /user-half\.yaml:2:11 workload: gfnStart \+ gfnCount 134218752 reaches past the guest's user half \(0x8000000\) under shadow paging$/,
  );
  assertBad(await cli('compare', f, '--vary', 'vcpus=1,2'), /user-half\.yaml:2:11 \(vcpus=1\) workload: gfnStart \+ gfnCount 134218752 reaches past/);
  // A field the file does not write (the default stop) is named without a place.
  const forever = scenarioFile('forever.yaml', 'vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 16 }] }\nworkload: { gfnCount: 16 }\n');
  assertBad(await cli('run', forever), /^mmulab: \S*forever\.yaml: stop: no stop\.timeNs/);
});

test('bad input: an error naming a file with a newline and ESC in its name is one line, the controls written as escapes', async () => {
  assertBad(await cli('run', join(dir, 'a\u001b[31mb\nc.yaml')), /a\\x1b\[31mb\\nc\.yaml: cannot read scenario file \(no such file\)$/);
});

test("a memslot change that takes away the page tables of a vCPU still running is bad input, said in the scenario's terms (a probe: it was 'MODEL BUG: account_shadowed ... which no memslot holds')", async () => {
  // slot-zap-accounting with vCPU1 running on: its page tables are in the memslot the VMM deletes.
  const running = scenarioFile(
    'tables-deleted.yaml',
    readFileSync('scenarios/slot-zap-accounting.yaml', 'utf8').replace('{ accesses: 600, processExitNs: 300000,', '{ processExitNs: 300000,'),
  );
  for (const flush of ['zap-all-fast', 'zap-slot'])
    assertBad(
      await cli('run', running, '--set', `memslotFlush=${flush}`),
      /^mmulab: .*tables-deleted\.yaml:\d+:\d+ host\.memslotChanges: vCPU1's page table at gfn 0x800200[0-9a-f] is in memslot 2, which is being deleted or moved while vCPU1 runs, so the guest would crash on its own page tables; expected the memslots holding page tables \(vcpuWorkloads\[1\]\.pageTableGfnStart\) left in place, or vCPU1 done before \(vcpuWorkloads\[1\]\.accesses\)$/,
    );
});

test('compare and sweep name the file and the variant when one variant runs into bad input (a probe: the message named neither)', async () => {
  // Shadow paging maps 4M gfns with 8 page-table pages: they run out mid-run; TDP needs none.
  const ptx = scenarioFile(
    'ptx.yaml',
    `vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 4194304 }, { id: 1, baseGfn: 134217728, pages: 4096 }] }
workload: { gfnStart: 0, gfnCount: 4194304, accesses: 2000, accessIntervalNs: 500, pageTableGfns: 8 }
stop: { timeNs: 10000000 }
`,
  );
  const named =
    /^mmulab: .*ptx\.yaml:2:\d+ workload\.pageTableGfns: vCPU0's guest page tables, \d+ pages, ran out at gfn 0x[0-9a-f]+: expected more page-table pages for the processes and the gfns they touch \(each process holds a PGD and, per level below, a table for each range of gfns it touches: one level-1 table per 512 gfns\) \(in the run of mmu=shadow, seed 1\)$/;
  // What ran before is kept: the table, and --json, partial, with the error (a probe: both were lost).
  const json = join(dir, 'ptx-compare.json');
  const c = await cli('compare', ptx, '--vary', 'mmu=tdp,shadow', '--seeds', '2', '--json', json);
  assertBad(c, named);
  assert.match(c.stdout, /\(partial; mmu=shadow seed 1 stopped on bad input; not run: mmu=shadow seed 2\)/);
  const kept = JSON.parse(readFileSync(json, 'utf8'));
  assert.deepEqual([kept.partial, kept.rows.map((r: { results: unknown[] }) => r.results.length)], [true, [2, 0]]);
  // Recorded as said, located in the file, as sweep records it (a probe: compare's JSON had no file:line).
  assert.match(kept.failed, /ptx\.yaml:2:\d+ workload\.pageTableGfns: .* \(in the run of mmu=shadow, seed 1\)$/);
  assert.equal(`mmulab: ${kept.failed}`, c.stderr.trim());
  for (const workers of ['0', '2']) {
    const out = join(dir, `ptx-sweep-${workers}.json`);
    assertBad(await cli('sweep', ptx, '--vary', 'mmu=tdp,shadow', '--seeds', '2', '--workers', workers, '--json', out), named);
    const swept = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual([swept.partial, swept.rows.map((r: { results: unknown[] }) => r.results.length)], [true, [2, 0]]);
  }
  // Its parts merged: the unsharded sweep's file and message (a probe: the cell after the failing one was kept, a later cell's
  // error named, the file's line lost; before that, the error was dropped and merge exited 0).
  const parts = [0, 1].map((i) => join(dir, `ptx-part${i}.json`));
  for (const [i, part] of parts.entries())
    await cli('sweep', ptx, '--vary', 'mmu=tdp,shadow', '--seeds', '2', '--workers', '0', '--shard', `${i}/2`, '--json', part);
  const mergedFile = join(dir, 'ptx-merged.json');
  assertBad(await cli('merge', parts[1]!, parts[0]!, '--json', mergedFile), named);
  const timeless = (f: string) => JSON.stringify(JSON.parse(readFileSync(f, 'utf8')), (k, v) => (k === 'wallMs' ? 0 : v));
  assert.equal(timeless(mergedFile), timeless(join(dir, 'ptx-sweep-0.json')));
});

test("page tables that run out mid-run are blamed on the field that sized them: a vcpuWorkloads entry's pageTableGfns when it sets one (a probe: always workload.pageTableGfns)", async () => {
  const own = scenarioFile(
    'pt-own.yaml',
    `vm: { vcpus: 1, apicAccessPage: false, memslots: [{ id: 0, baseGfn: 0, pages: 4194304 }, { id: 1, baseGfn: 134217728, pages: 4096 }] }
workload: { gfnStart: 0, gfnCount: 4194304, accesses: 2000, accessIntervalNs: 500 }
vcpuWorkloads: [{ pageTableGfns: 8 }]
settings: { mmu: shadow }
stop: { timeNs: 10000000 }
`,
  );
  assertBad(await cli('run', own), /pt-own\.yaml:3:\d+ vcpuWorkloads\[0\]\.pageTableGfns: vCPU0's guest page tables, \d+ pages, ran out at gfn 0x[0-9a-f]+: /);
});

test('bad input: a required key left out is said missing, not a wrong type (a probe: "vm.memslots[0].pages: expected number")', async () => {
  const noPages = scenarioFile('no-pages.yaml', GOOD.replace(', pages: 64', ''));
  assertBad(await cli('run', noPages), /no-pages\.yaml:4:7 vm\.memslots\[0\]\.pages: missing; expected a number$/);
  const noSlots = scenarioFile('no-slots.yaml', 'vm: { vcpus: 1 }\n');
  assertBad(await cli('run', noSlots), /no-slots\.yaml:1:5 vm\.memslots: missing; expected an array$/);
  // A value given, of the wrong type, is no missing key; zod's type words in plain English.
  const half = scenarioFile('half.yaml', `${GOOD}  accesses: 3.5\n`);
  assertBad(await cli('run', half), /half\.yaml:9:13 workload\.accesses: expected an integer$/);
  const nulled = scenarioFile('nulled.yaml', GOOD.replace('vcpus: 2', 'vcpus: null'));
  assertBad(await cli('run', nulled), /nulled\.yaml:2:10 vm\.vcpus: expected a number$/);
});

test("bad input: commander's own errors carry the prefix every other error has, in one line (a probe: \"error: unknown option '--bogus'\")", async () => {
  assertBad(await cli('--bogus'), /^mmulab: unknown option '--bogus'$/);
  assertBad(await cli('run', '--sed', '3', 'x'), /^mmulab: unknown option '--sed' \(did you mean one of --seed, --set\?\)$/);
  assertBad(await cli('run'), /^mmulab: missing required argument 'scenario'$/);
});

test('bad input: a YAML syntax error is located as a field is, file:line:col and no colon after the column (a probe: "e1.yaml:2:1: malformed")', async () => {
  assertBad(await cli('run', scenarioFile('e1.yaml', 'vm: {\n')), /e1\.yaml:2:1 malformed YAML\/JSON: /);
});

test('bad input: a setting\'s "expects one of" lists its default first, as the README and `mmulab list` do (a probe: "invalidate-range, retry")', async () => {
  assertBad(
    await cli('run', 'fault-vs-invalidation-mini', '--set', 'apicAccessPage=false'),
    /--set apicAccessPage=false: apicAccessPage expects one of retry, invalidate-range$/,
  );
  const { SETTINGS } = await import('../../src/kvm/settings.js');
  for (const s of SETTINGS) if (s.values.length > 0) assert.equal(s.values[0], s.default, s.key);
  const f = scenarioFile('apic-setting.yaml', `${GOOD}settings: { apicAccessPage: reload }\n`);
  assertBad(await cli('run', f), /settings\.apicAccessPage: expected one of "retry", "invalidate-range"$/);
});

test('bad input: a scenario given to replay as its counterexample is said to be one, with what replay takes (a probe: "not JSON: … got \'#\'")', async () => {
  const f = scenarioFile('as-cex.yaml', `# a scenario\n${GOOD}`);
  assertBad(
    await cli('replay', f),
    /as-cex\.yaml: a scenario, not a counterexample; replay takes a counterexample JSON \(check --out writes one\), or a scenario with --schedule S \(the replay line check prints\): mmulab replay \S*as-cex\.yaml --schedule S$/,
  );
  // Text that is neither stays the JSON reader's refusal.
  assertBad(await cli('replay', scenarioFile('junk.yaml', '# notes\n')), /junk\.yaml: not JSON \(line 1, column 1: /);
});
