import { InputError } from '../scenario/input-error.js';

/**
 * The JSON files mmulab reads back (counterexamples, check and sweep parts),
 * parsed. A file that is not JSON is refused on one line naming the file and
 * the line and column where it stops being JSON, and what was expected there,
 * never quoting the file: JSON.parse's own message quotes the text around the
 * fault, newlines and all ('Unexpected token 'x', "x\n{\n  "for"... is not
 * valid JSON', three lines of a terminal), and says where only sometimes. A
 * byte order mark at the start, which some editors write, is skipped (RFC 8259
 * allows a parser to ignore it); positions are counted after it, as an editor
 * shows them.
 */
export function parseJsonText(name: string, text: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const fault = jsonFault(body);
    // JSON.parse refused what the scan took: say so rather than a place that is wrong.
    if (fault === null) throw new InputError(`${name}: not JSON`);
    const { line, col } = lineCol(body, fault.at);
    throw new InputError(`${name}:${line}:${col}: not JSON: expected ${fault.expected}, got ${charAt(body, fault.at)}`);
  }
}

/** Where JSON text first goes wrong: the offset, and what was expected there. */
interface JsonFault {
  at: number;
  expected: string;
}

const VALUE = 'a value (an object, array, string, number, true, false or null)';
const WS = new Set([' ', '\t', '\n', '\r']);

/**
 * The first place `text` is not JSON (RFC 8259), or null when it all is.
 * Iterative, so that deep nesting cannot overflow the stack.
 */
export function jsonFault(text: string): JsonFault | null {
  let i = 0;
  const skip = () => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  /** Open containers, innermost last: '{' or '['. */
  const open: string[] = [];
  const string = (): JsonFault | null => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) return { at: i, expected: "'\"' ending the string" };
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return null;
      }
      if (c < 0x20) return { at: i, expected: 'a control character escaped in a string (\\n, \\t, \\u00XX)' };
      if (c === 0x5c) {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            const bad = [...text.slice(i + 2, i + 6)].findIndex((h) => !/[0-9a-fA-F]/.test(h));
            return { at: i + 2 + (bad < 0 ? Math.min(4, text.length - i - 2) : bad), expected: 'four hex digits after \\u' };
          }
          i += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) return { at: i + 1, expected: 'an escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)' };
        i += 2;
        continue;
      }
      i++;
    }
  };
  const number = (): JsonFault | null => {
    if (text[i] === '-') i++;
    const digits = () => {
      const from = i;
      while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
      return i - from;
    };
    if (text[i] === '0') i++;
    else if (digits() === 0) return { at: i, expected: 'a digit' };
    if (text[i] === '.') {
      i++;
      if (digits() === 0) return { at: i, expected: "a digit after '.'" };
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (digits() === 0) return { at: i, expected: 'a digit of the exponent' };
    }
    return null;
  };
  /** One value, or the opening of a container (pushed on `open`). */
  const value = (): JsonFault | null => {
    skip();
    const c = text[i];
    if (c === '{' || c === '[') {
      open.push(c);
      i++;
      return null;
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return null;
      }
    }
    // Where a literal's spelling goes wrong ('nul!'), else here.
    for (const word of ['true', 'false', 'null']) {
      if (c === word[0]) {
        let k = 1;
        while (text[i + k] === word[k]) k++;
        return { at: i + k, expected: `'${word[k]}' of ${word}` };
      }
    }
    return { at: i, expected: VALUE };
  };
  /** After a value, or the opening of a container: the next member or element, or the container's end. */
  const members = (justOpened: boolean): JsonFault | null => {
    skip();
    const inner = open[open.length - 1]!;
    const close = inner === '{' ? '}' : ']';
    if (text[i] === close) {
      open.pop();
      i++;
      return null;
    }
    if (!justOpened) {
      if (text[i] !== ',') return { at: i, expected: `',' or '${close}'` };
      i++;
      skip();
    }
    if (inner === '{') {
      if (text[i] !== '"') return { at: i, expected: justOpened ? "a property name in double quotes, or '}'" : 'a property name in double quotes' };
      const bad = string();
      if (bad !== null) return bad;
      skip();
      if (text[i] !== ':') return { at: i, expected: "':' after the property name" };
      i++;
    }
    return value();
  };
  let bad = value();
  if (bad !== null) return bad;
  // True when the last value read opened a container (its first member, or its end, comes next).
  let opened = open.length > 0;
  while (open.length > 0) {
    const depth = open.length;
    bad = members(opened);
    if (bad !== null) return bad;
    opened = open.length > depth;
  }
  skip();
  if (i < text.length) return { at: i, expected: 'the end of the file after the JSON value' };
  return null;
}

/** 1-based line and column of offset `at` (columns in characters). */
function lineCol(text: string, at: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < at; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      start = k + 1;
    }
  }
  return { line, col: [...text.slice(start, at)].length + 1 };
}

/** The character at `at`, as an error names it: quoted, a code point for controls and invisibles, or the end of the file. */
function charAt(text: string, at: number): string {
  const cp = text.codePointAt(at);
  if (cp === undefined) return 'the end of the file';
  const c = String.fromCodePoint(cp);
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || /\s/u.test(c) || cp === 0xfeff || (cp >= 0x200b && cp <= 0x206f)) {
    return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `'${c}'`;
}
