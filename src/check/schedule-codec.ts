import type { Schedule } from '../runtime/schedule.js';

/** Version byte leading every encoded schedule. */
const VERSION = 1;

/**
 * Encodes a schedule as a short string to paste on a command line: the thread
 * choices run-length encoded, then the draws, all as LEB128 varints, in
 * base64url (no padding). Choices and draws are non-negative safe integers.
 */
export function encodeSchedule(s: Schedule): string {
  const out: number[] = [VERSION];
  const ch = s.choices;
  let runs = 0;
  for (let i = 0; i < ch.length; i++) if (i === 0 || ch[i] !== ch[i - 1]) runs++;
  putVarint(out, runs);
  for (let i = 0; i < ch.length; ) {
    let j = i + 1;
    while (j < ch.length && ch[j] === ch[i]) j++;
    putVarint(out, check(ch[i], 'choice'));
    putVarint(out, j - i);
    i = j;
  }
  putVarint(out, s.draws.length);
  for (const d of s.draws) putVarint(out, check(d, 'draw'));
  return Buffer.from(out).toString('base64url');
}

/**
 * Decodes encodeSchedule's string; throws a RangeError saying what is wrong
 * with a malformed one, or one of more than `maxChoices` steps (the --max-steps
 * a replay runs with: it could not run more), before making room for them (a
 * run length of 10^8 in 11 characters took 2 GB).
 */
export function decodeSchedule(text: string, maxChoices = 1e8): Schedule {
  const str = text.trim();
  if (str === '') throw new RangeError('schedule string: empty; expected the string check printed after --schedule');
  if (!/^[A-Za-z0-9_-]+$/.test(str)) throw new RangeError('schedule string: only base64url characters (A-Z a-z 0-9 - _) are allowed');
  const bytes = Buffer.from(str, 'base64url');
  const r = { bytes, pos: 0 };
  const version = getVarint(r);
  if (version !== VERSION) throw new RangeError(`schedule string: version ${version}, expected ${VERSION}`);
  const runs = getVarint(r);
  const choices: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = getVarint(r);
    const n = getVarint(r);
    if (n === 0) throw new RangeError('schedule string: empty run');
    if (choices.length + n > maxChoices) throw new RangeError(`schedule string: more than ${maxChoices} steps, more than can run`);
    for (let k = 0; k < n; k++) choices.push(t);
  }
  const nd = getVarint(r);
  if (nd > bytes.length) throw new RangeError('schedule string: truncated');
  const draws: number[] = [];
  for (let i = 0; i < nd; i++) draws.push(getVarint(r));
  if (r.pos !== bytes.length) throw new RangeError('schedule string: trailing bytes');
  return { choices, draws };
}

function check(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`schedule: ${what} ${v} is not a non-negative safe integer`);
  return v;
}

function putVarint(out: number[], v: number): void {
  let x = v;
  while (x >= 0x80) {
    out.push((x % 0x80) | 0x80);
    x = Math.floor(x / 0x80);
  }
  out.push(x);
}

function getVarint(r: { bytes: Buffer; pos: number }): number {
  let v = 0;
  let scale = 1;
  for (;;) {
    if (r.pos >= r.bytes.length) throw new RangeError('schedule string: truncated');
    const b = r.bytes[r.pos++];
    v += (b & 0x7f) * scale;
    if (v > Number.MAX_SAFE_INTEGER) throw new RangeError('schedule string: number too large');
    if ((b & 0x80) === 0) return v;
    scale *= 0x80;
  }
}
