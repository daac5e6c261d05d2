import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../../src/report/atomic-file.js';
import { tempDir } from '../temp-dir.js';
import { cli } from './in-process-cli.js';

// Only ever files made here: a bug in these writes replaces what it is pointed at (as root, /dev/null).
const dir = tempDir('mmulab-output-targets-');
const isRoot = process.getuid?.() === 0;

/** A character device like /dev/null (1, 3), made here: mknod needs root. */
function nullDevice(name: string): string {
  const path = join(dir, name);
  const r = spawnSync('mknod', [path, 'c', '1', '3'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return path;
}

function fifo(name: string): string {
  const path = join(dir, name);
  const r = spawnSync('mkfifo', [path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return path;
}

/** A process reading `path` to its end; resolves to what it read. */
function reader(path: string): Promise<string> {
  const cat = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  cat.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const timer = setTimeout(() => cat.kill(), 60_000);
  return new Promise((done) =>
    cat.on('close', () => {
      clearTimeout(timer);
      done(out);
    }),
  );
}

test('writeFileAtomic follows a symbolic link: the target is replaced, the link stays a link (also a dangling one)', () => {
  const real = join(dir, 'real.txt');
  writeFileSync(real, 'old');
  const link = join(dir, 'link.txt');
  symlinkSync('real.txt', link);
  writeFileAtomic(link, ['new ', 'text']);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readlinkSync(link), 'real.txt');
  assert.equal(readFileSync(real, 'utf8'), 'new text');
  const dangling = join(dir, 'dangling.txt');
  symlinkSync('made.txt', dangling);
  writeFileAtomic(dangling, 'made');
  assert.ok(lstatSync(dangling).isSymbolicLink());
  assert.equal(readFileSync(join(dir, 'made.txt'), 'utf8'), 'made');
});

test('run --json on a FIFO writes into it (a reader gets the JSON), the FIFO stays a FIFO', async () => {
  const path = fifo('out.fifo');
  const read = reader(path);
  const r = await cli('run', 'fault-vs-invalidation-mini', '--json', path);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(await read).format, 'mmulab-run/1');
  assert.ok(lstatSync(path).isFIFO());
});

test('run --json, --trace on a symbolic link: written through it, the link stays', async () => {
  const link = join(dir, 'run-link.json');
  writeFileSync(join(dir, 'run-real.json'), 'old');
  symlinkSync('run-real.json', link);
  const traceLink = join(dir, 'trace-link.json');
  symlinkSync('trace-real.json', traceLink);
  const r = await cli('run', 'fault-vs-invalidation-mini', '--json', link, '--trace', traceLink);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.ok(lstatSync(traceLink).isSymbolicLink());
  assert.equal(JSON.parse(readFileSync(join(dir, 'run-real.json'), 'utf8')).format, 'mmulab-run/1');
  assert.ok(Array.isArray(JSON.parse(readFileSync(join(dir, 'trace-real.json'), 'utf8')).traceEvents));
});

test('check --json, --trace, --report on a character device (/dev/null made here): written to, not replaced', {
  skip: !isRoot && 'mknod needs root',
}, async () => {
  const devnull = nullDevice('null');
  for (const option of ['--json', '--trace', '--report']) {
    const r = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', join(dir, 'dev-cex.json'), option, devnull);
    assert.equal(r.code, 1, `${option}: ${r.stderr}`);
    assert.ok(lstatSync(devnull).isCharacterDevice(), `${option}: ${devnull} is no longer a character device`);
  }
});

test('an output on a block device (made here) is refused before the work: one line, exit 2, the node left as it is', {
  skip: !isRoot && 'mknod needs root',
}, async () => {
  const block = join(dir, 'block');
  const made = spawnSync('mknod', [block, 'b', '7', '200'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const r = await cli('run', 'fault-vs-invalidation-mini', '--json', block);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^mmulab: --json \S+\/block: is a block device; expected a file\n$/);
  assert.ok(lstatSync(block).isBlockDevice());
});

/** The CLI in a process of its own with `stdout` as its standard output, `args` given. */
function spawnedTo(stdout: 'pipe' | number, ...args: string[]): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], {
    stdio: ['ignore', stdout, 'pipe'],
    encoding: 'utf8',
    timeout: 120_000,
  });
}

const JSON_THEN_SUMMARY = /^\{\n {2}"format": "mmulab-run\/1",[\s\S]*\n\}\nfault-vs-invalidation-mini {2}seed 1\n/;

// What /dev/stdout and /dev/fd are, made here (the system's own must never be the test's target:
// the bug replaced /dev/stdout with a regular file).
test('--json on /dev/stdout or /dev/fd/1 (their links, made here): into the socket, pipe or file that stdout is, before the summary', () => {
  const stdoutLink = join(dir, 'stdout');
  symlinkSync('/proc/self/fd/1', stdoutLink);
  const fdLink = join(dir, 'fd');
  symlinkSync('/proc/self/fd', fdLink);
  // A socket (what spawnSync gives as stdout).
  const socket = spawnedTo('pipe', 'run', 'fault-vs-invalidation-mini', '--json', stdoutLink);
  assert.equal(socket.status, 0, String(socket.stderr));
  assert.match(String(socket.stdout), JSON_THEN_SUMMARY);
  // A pipe.
  const script = `${JSON.stringify(process.execPath)} --import tsx src/cli/entry.ts run fault-vs-invalidation-mini --json ${JSON.stringify(join(fdLink, '1'))} | cat`;
  const piped = spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, JSON_THEN_SUMMARY);
  // A file: written at stdout's offset, not from the file's start again over what is there.
  const file = join(dir, 'stdout.txt');
  const fd = openSync(file, 'w');
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnedTo(fd, 'run', 'fault-vs-invalidation-mini', '--json', stdoutLink);
  } finally {
    closeSync(fd);
  }
  assert.equal(r.status, 0, String(r.stderr));
  assert.match(readFileSync(file, 'utf8'), JSON_THEN_SUMMARY);
  assert.equal(readlinkSync(stdoutLink), '/proc/self/fd/1');
});

/** A refusal: exit 2, one line matching `pattern`. */
function assertRefused(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

test('two outputs on one file (however spelt, through a link, or a default) are refused before the work: one line naming both, exit 2', async () => {
  const same = join(dir, 'same.json');
  assertRefused(
    await cli('run', 'fault-vs-invalidation-mini', '--json', same, '--trace', same, '--ftrace', same),
    /^mmulab: --trace \S+\/same\.json: the same file as --json \S+\/same\.json; only one of them would be kept, expected another file$/,
  );
  const cex = join(dir, 'same-cex.json');
  assertRefused(
    await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', cex, '--json', cex),
    /^mmulab: --json \S+same-cex\.json: the same file as --out \S+same-cex\.json; /,
  );
  assert.ok(!existsSync(same) && !existsSync(cex), 'nothing written');
  // Another spelling of the path; a link to a file there.
  mkdirSync(join(dir, 'sub'));
  assertRefused(
    await cli('check', 'fault-vs-invalidation-mini', '--out', join(dir, 'spelt.json'), '--report', `${dir}/sub/../spelt.json`),
    /^mmulab: --report \S+\/sub\/\.\.\/spelt\.json: the same file as --out \S+\/spelt\.json; /,
  );
  writeFileSync(join(dir, 'target.json'), '');
  symlinkSync('target.json', join(dir, 'to-target.json'));
  assertRefused(
    await cli('run', 'fault-vs-invalidation-mini', '--json', join(dir, 'target.json'), '--report', join(dir, 'to-target.json')),
    /^mmulab: --report \S+\/to-target\.json: the same file as --json \S+\/target\.json; /,
  );
  // check's default --out, cex.json in the current folder.
  const cwd = process.cwd();
  process.chdir(dir);
  let r: { code: number; stderr: string };
  try {
    r = await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--json', 'cex.json');
  } finally {
    process.chdir(cwd);
  }
  assertRefused(r, /^mmulab: --json cex\.json: the same file as --out cex\.json \(its default\); /);
  assert.ok(!existsSync(join(dir, 'cex.json')));
  // replay's outputs too.
  const found = join(dir, 'found.json');
  assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', found)).code, 1);
  const page = join(dir, 'page.html');
  assertRefused(await cli('replay', found, '--ftrace', page, '--report', page), /^mmulab: --report \S+page\.html: the same file as --ftrace \S+page\.html; /);
});

test('a character device (/dev/null made here) may take several outputs', { skip: !isRoot && 'mknod needs root' }, async () => {
  const devnull = nullDevice('shared-null');
  const r = await cli('run', 'fault-vs-invalidation-mini', '--json', devnull, '--trace', devnull, '--ftrace', devnull, '--report', devnull);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(devnull).isCharacterDevice());
});

test('an output on a file the command reads (scenario, counterexample, part to merge) is refused before the work, the file left as it was', async () => {
  const victim = join(dir, 'victim.yaml');
  const text = readFileSync('scenarios/fault-vs-invalidation-mini.yaml', 'utf8');
  writeFileSync(victim, text);
  assertRefused(
    await cli('run', victim, '--report', victim),
    /^mmulab: --report \S+\/victim\.yaml: is the file \S+\/victim\.yaml read as input; it would be overwritten, expected another file$/,
  );
  // Spelt otherwise, or through a link.
  symlinkSync('victim.yaml', join(dir, 'victim-link.yaml'));
  mkdirSync(join(dir, 'sub2'));
  assertRefused(
    await cli('run', join(dir, 'victim-link.yaml'), '--json', `${dir}/sub2/../victim.yaml`),
    /^mmulab: --json \S+: is the file \S+victim-link\.yaml read as input; /,
  );
  assertRefused(await cli('check', victim, '--mutate', 'fault-skip-range-check', '--out', victim), /^mmulab: --out \S+victim\.yaml: is the file /);
  assertRefused(await cli('replay', victim, '--schedule', 'AQYAAQEBAgEADAIIAAYBAA', '--trace', victim), /^mmulab: --trace \S+victim\.yaml: is the file /);
  assert.equal(readFileSync(victim, 'utf8'), text);
  // check's default --out, cex.json, on a scenario of that name.
  writeFileSync(join(dir, 'cex.json'), '{}');
  const cwd = process.cwd();
  process.chdir(dir);
  let r: { code: number; stderr: string };
  try {
    r = await cli('check', 'cex.json');
  } finally {
    process.chdir(cwd);
  }
  assertRefused(r, /^mmulab: --out cex\.json \(its default\): is the file cex\.json read as input; /);
  // replay's counterexample; merge's parts.
  const found = join(dir, 'read-cex.json');
  assert.equal((await cli('check', 'fault-vs-invalidation-mini', '--mutate', 'fault-skip-range-check', '--out', found)).code, 1);
  const cex = readFileSync(found, 'utf8');
  assertRefused(await cli('replay', found, '--json', found), /^mmulab: --json \S+read-cex\.json: is the file \S+read-cex\.json read as input; /);
  assert.equal(readFileSync(found, 'utf8'), cex);
  const parts = [0, 1].map((i) => join(dir, `part${i}.json`));
  for (const [i, part] of parts.entries()) {
    const s = await cli('check', 'fault-vs-invalidation-mini', '--strategy', 'random', '--max-executions', '4', '--shard', `${i}/2`, '--json', part);
    assert.equal(s.code, 0, s.stderr);
  }
  const second = readFileSync(parts[1]!, 'utf8');
  assertRefused(await cli('merge', ...parts, '--json', parts[1]!), /^mmulab: --json \S+part1\.json: is the file \S+part1\.json read as input; /);
  assert.equal(readFileSync(parts[1]!, 'utf8'), second);
});
