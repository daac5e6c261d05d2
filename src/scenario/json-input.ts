import { createScanner, type JSONScanner, ScanError, SyntaxKind } from 'jsonc-parser';
import { InputError } from './input-error.js';

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
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const fault = notJson(body);
    // JSON.parse refused what the scan took (the property tests of json-input.test.ts find no such text): say so rather than a place that is wrong.
    if (fault === null) throw new InputError(`${name}: not JSON`);
    throw new InputError(`${name}: not JSON (line ${fault.line}, column ${fault.col}: ${fault.words})`);
  }
  // JSON.parse keeps the last of two equal property names without a word; an
  // edited counterexample with two "schedule"s would replay one silently.
  const twice = duplicateKey(body);
  if (twice !== null) {
    const { line, col } = lineCol(body, twice.at);
    const first = lineCol(body, twice.first);
    throw new InputError(
      `${name}:${line}:${col} property ${JSON.stringify(twice.key)} given twice in one object (first at ${first.line}:${first.col}); expected each once`,
    );
  }
  return value;
}

/**
 * Where `text` (no byte order mark) first stops being JSON, as an error
 * says it: its line and column, and "expected X, got Y"; null when it is JSON.
 */
export function notJson(text: string): { line: number; col: number; words: string } | null {
  const fault = jsonFault(text);
  if (fault === null) return null;
  return { ...lineCol(text, fault.at), words: `expected ${fault.expected}, got ${charAt(text, fault.at)}` };
}

/** A property name given a second time in one object of JSON text: where, and where first. */
interface DuplicateKey {
  key: string;
  at: number;
  first: number;
}

/**
 * The first property name that an object of `text` (JSON, which JSON.parse
 * took) repeats, or null. Scanned with jsonc-parser's tokens and a stack of
 * the open containers' names seen (null for an array), in a loop, as
 * jsonFault is.
 */
export function duplicateKey(text: string): DuplicateKey | null {
  const scanner = createScanner(text, true);
  /** Per open container, innermost last: an object's names and where each was, or null for an array. */
  const open: (Map<string, number> | null)[] = [];
  /** Whether the next string in an object is a name (after '{' or ','). */
  let name = false;
  for (let k = scanner.scan(); k !== SyntaxKind.EOF; k = scanner.scan()) {
    switch (k) {
      case SyntaxKind.OpenBraceToken:
        open.push(new Map());
        name = true;
        break;
      case SyntaxKind.OpenBracketToken:
        open.push(null);
        name = false;
        break;
      case SyntaxKind.CloseBraceToken:
      case SyntaxKind.CloseBracketToken:
        open.pop();
        name = false;
        break;
      case SyntaxKind.CommaToken:
        name = open[open.length - 1] != null;
        break;
      case SyntaxKind.StringLiteral: {
        const names = open[open.length - 1];
        if (name && names != null) {
          const key = scanner.getTokenValue();
          const first = names.get(key);
          if (first !== undefined) return { key, at: scanner.getTokenOffset(), first };
          names.set(key, scanner.getTokenOffset());
        }
        name = false;
        break;
      }
      default:
        name = false;
    }
  }
  return null;
}

/** Where JSON text first goes wrong: the offset, and what was expected there. */
interface JsonFault {
  at: number;
  expected: string;
}

const VALUE = 'a value (an object, array, string, number, true, false or null)';
const LITERALS = ['true', 'false', 'null'] as const;
/** What a string may hold, from its opening quote on: its fault is where this stops short of the closing quote. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: a JSON string may not hold U+0000 to U+001F raw; this finds the first
const STRING_BODY = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*/y;

/**
 * The first place `text` is not JSON (RFC 8259), or null when it all is.
 *
 * The tokens are jsonc-parser's (Microsoft's JSON scanner: its whitespace,
 * numbers, strings and literals are JSON's, comments are tokens of their own
 * and refused here), checked against JSON's grammar with a stack of the open
 * containers. Not its parse() or visit(): they recurse once per nesting level,
 * and 100,000 '[' overflow the stack; this loop does not. Its scanner says a
 * token is wrong, not where in it: for strings, numbers and misspelt literals
 * the place is found in the token (scalarFault).
 */
export function jsonFault(text: string): JsonFault | null {
  const scanner = createScanner(text, false);
  /** The next token that is not whitespace or a line break. */
  const next = (): SyntaxKind => {
    let t: SyntaxKind;
    do t = scanner.scan();
    while (t === SyntaxKind.Trivia || t === SyntaxKind.LineBreakTrivia);
    return t;
  };
  let k = next();
  const here = (expected: string): JsonFault => ({ at: scanner.getTokenOffset(), expected });
  /** Closing tokens of the open containers, innermost last. */
  const open: SyntaxKind[] = [];
  /** After '{' (`first`) or a ',' in an object: a property name and its ':', the value next. */
  const key = (first: boolean): JsonFault | null => {
    if (k !== SyntaxKind.StringLiteral) return here(first ? "a property name in double quotes, or '}'" : 'a property name in double quotes');
    const bad = scalarFault(text, scanner);
    if (bad !== null) return bad;
    k = next();
    if (k !== SyntaxKind.ColonToken) return here("':' after the property name");
    k = next();
    return null;
  };
  for (;;) {
    // A value starts here.
    if (k === SyntaxKind.OpenBraceToken || k === SyntaxKind.OpenBracketToken) {
      const close = k === SyntaxKind.OpenBraceToken ? SyntaxKind.CloseBraceToken : SyntaxKind.CloseBracketToken;
      k = next();
      if (k !== close) {
        open.push(close);
        const bad = close === SyntaxKind.CloseBraceToken ? key(true) : null;
        if (bad !== null) return bad;
        continue;
      }
      k = next();
    } else {
      const bad = scalarFault(text, scanner);
      if (bad !== null) return bad;
      k = next();
    }
    // After a value: the ends of the containers it closes, then a ',' and the next member or element, or the end.
    for (;;) {
      const close = open[open.length - 1];
      if (close === undefined) return k === SyntaxKind.EOF ? null : here('the end of the file after the JSON value');
      if (k === close) {
        open.pop();
        k = next();
        continue;
      }
      if (k !== SyntaxKind.CommaToken) return here(`',' or '${close === SyntaxKind.CloseBraceToken ? '}' : ']'}'`);
      k = next();
      const bad = close === SyntaxKind.CloseBraceToken ? key(false) : null;
      if (bad !== null) return bad;
      break;
    }
  }
}

/**
 * Where the scanner's current token, in the place of a value, stops being
 * JSON; null when it is a whole string, number, true, false or null. The
 * scanner says a token is wrong, not where in it: here, a string's first bad
 * character or escape, the digit a number lacks, the letter where a literal's
 * spelling goes wrong. A word that starts with a whole literal ('truex') is
 * that literal, the scanner set after it, so that the rest is refused where a
 * ',' or the end was due, as JSON.parse reads it.
 */
function scalarFault(text: string, scanner: JSONScanner): JsonFault | null {
  const from = scanner.getTokenOffset();
  const end = from + scanner.getTokenLength();
  switch (scanner.getToken()) {
    case SyntaxKind.StringLiteral: {
      if (scanner.getTokenError() === ScanError.None) return null;
      // The scanner goes on past a bad character or escape, and keeps the last fault: the first is found here.
      STRING_BODY.lastIndex = from;
      const at = from + (STRING_BODY.exec(text)?.[0].length ?? 1);
      const c = text.charCodeAt(at);
      if (Number.isNaN(c)) return { at, expected: "'\"' ending the string" };
      if (c < 0x20) return { at, expected: 'a control character escaped in a string (\\n, \\t, \\u00XX)' };
      if (text[at + 1] !== 'u') return { at: at + 1, expected: 'an escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)' };
      let hex = at + 2;
      while (hex < at + 6 && /[0-9a-fA-F]/.test(text[hex] ?? '')) hex++;
      return { at: hex, expected: 'four hex digits after \\u' };
    }
    case SyntaxKind.NumericLiteral:
      if (scanner.getTokenError() === ScanError.None) return null;
      // Cut after its '.' or its exponent's 'e' (and sign).
      return { at: end, expected: text[end - 1] === '.' ? "a digit after '.'" : 'a digit of the exponent' };
    case SyntaxKind.Unknown: {
      const word = text.slice(from, end);
      if (word === '-') return { at: end, expected: 'a digit' };
      for (const literal of LITERALS) {
        if (word[0] !== literal[0]) continue;
        let n = 1;
        while (n < literal.length && word[n] === literal[n]) n++;
        if (n < literal.length) return { at: from + n, expected: `'${literal[n]}' of the word ${literal}` };
        scanner.setPosition(from + literal.length);
        return null;
      }
      return { at: from, expected: VALUE };
    }
    case SyntaxKind.TrueKeyword:
    case SyntaxKind.FalseKeyword:
    case SyntaxKind.NullKeyword:
      return null;
    default:
      // Punctuation, a comment (JSON has none), the end of the file.
      return { at: from, expected: VALUE };
  }
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
