import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../../src/scenario/input-error.js';
import { duplicateKey, jsonFault, parseJsonText } from '../../src/scenario/json-input.js';

/** The message parseJsonText refuses `text` with. */
function refusal(text: string): string {
  try {
    parseJsonText('f.json', text);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.message;
  }
  assert.fail(`${JSON.stringify(text)} was parsed`);
}

test('json-input: the place and what was expected, on one line, quoting no more than the character found (seed 7)', () => {
  assert.equal(
    refusal('x\n{"a": 1}'),
    "f.json: not JSON (line 1, column 1: expected a value (an object, array, string, number, true, false or null), got 'x')",
  );
  assert.equal(refusal('{\n  "a": 1,\n}'), "f.json: not JSON (line 3, column 1: expected a property name in double quotes, got '}')");
  assert.equal(refusal('{"a": [1 2]}'), "f.json: not JSON (line 1, column 10: expected ',' or ']', got '2')");
  assert.equal(
    refusal('{"a": "b\nc"}'),
    'f.json: not JSON (line 1, column 9: expected a control character escaped in a string (\\n, \\t, \\u00XX), got U+000A)',
  );
  assert.equal(refusal('{"a": nul}'), "f.json: not JSON (line 1, column 10: expected 'l' of the word null, got '}')");
  assert.equal(refusal('{"a": 1'), "f.json: not JSON (line 1, column 8: expected ',' or '}', got the end of the file)");
  assert.equal(refusal('{} {}'), "f.json: not JSON (line 1, column 4: expected the end of the file after the JSON value, got '{')");
  assert.equal(
    refusal(''),
    'f.json: not JSON (line 1, column 1: expected a value (an object, array, string, number, true, false or null), got the end of the file)',
  );
  // A byte order mark is skipped, and not counted in the columns.
  assert.deepEqual(parseJsonText('f.json', '\uFEFF{"a": 1}'), { a: 1 });
  assert.equal(refusal('\uFEFF{"a" 1}'), "f.json: not JSON (line 1, column 6: expected ':' after the property name, got '1')");
  // Deep nesting does not overflow the scan.
  assert.equal(jsonFault(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), null);
  assert.ok(jsonFault(`${'['.repeat(200_000)}${']'.repeat(199_999)}`) !== null);
});

test('json-input: the scan finds a fault exactly when JSON.parse refuses the text (seed 7)', () => {
  const parses = (t: string) => {
    try {
      JSON.parse(t);
      return true;
    } catch {
      return false;
    }
  };
  // JSON texts, then each with one character put in, taken out or changed.
  const texts = fc
    .tuple(fc.json(), fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'none'), fc.constantFrom(...'{}[],:"\\ \n0-.eE+tfnulx\u0001'))
    .map(([t, at, how, c]) => {
      const k = t.length === 0 ? 0 : at % t.length;
      if (how === 'insert') return t.slice(0, k) + c + t.slice(k);
      if (how === 'delete') return t.slice(0, k) + t.slice(k + 1);
      if (how === 'replace') return t.slice(0, k) + c + t.slice(k + 1);
      return t;
    });
  fc.assert(
    fc.property(texts, (t) => {
      assert.equal(jsonFault(t) === null, parses(t), JSON.stringify(t));
    }),
    { seed: 7, numRuns: 3000 },
  );
});

test('json-input: unterminated strings, raw control characters, bad escapes and numbers, misspelt literals, comments and deep nesting, each at its place', () => {
  assert.equal(refusal('{"a": "b'), `f.json: not JSON (line 1, column 9: expected '"' ending the string, got the end of the file)`);
  assert.equal(
    refusal('["a\u0001b"]'),
    'f.json: not JSON (line 1, column 4: expected a control character escaped in a string (\\n, \\t, \\u00XX), got U+0001)',
  );
  // The first fault of a string, not the last (the scanner keeps the last).
  assert.equal(
    refusal('["\\x\u0001'),
    "f.json: not JSON (line 1, column 4: expected an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX), got 'x')",
  );
  assert.equal(refusal('"\\u12"'), `f.json: not JSON (line 1, column 6: expected four hex digits after \\u, got '"')`);
  assert.equal(
    refusal('"ab\\'),
    'f.json: not JSON (line 1, column 5: expected an escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX), got the end of the file)',
  );
  assert.equal(refusal('[1.]'), "f.json: not JSON (line 1, column 4: expected a digit after '.', got ']')");
  assert.equal(refusal('[1e+]'), "f.json: not JSON (line 1, column 5: expected a digit of the exponent, got ']')");
  assert.equal(refusal('[-x]'), "f.json: not JSON (line 1, column 3: expected a digit, got 'x')");
  assert.equal(refusal('[01]'), "f.json: not JSON (line 1, column 3: expected ',' or ']', got '1')");
  assert.equal(refusal('[truex]'), "f.json: not JSON (line 1, column 6: expected ',' or ']', got 'x')");
  assert.equal(refusal('{"a": 1}\nfalsy'), "f.json: not JSON (line 2, column 1: expected the end of the file after the JSON value, got 'f')");
  assert.equal(refusal("{'a': 1}"), "f.json: not JSON (line 1, column 2: expected a property name in double quotes, or '}', got ''')");
  // JSON has no comments.
  assert.equal(refusal('{"a": 1} // mmulab'), "f.json: not JSON (line 1, column 10: expected the end of the file after the JSON value, got '/')");
  assert.equal(
    refusal('{"a": /* one */ 1}'),
    "f.json: not JSON (line 1, column 7: expected a value (an object, array, string, number, true, false or null), got '/')",
  );
  // 100,000 levels: JSON.parse refuses them unclosed, and the scan neither overflows nor gives up.
  assert.equal(
    refusal('['.repeat(100_000)),
    'f.json: not JSON (line 1, column 100001: expected a value (an object, array, string, number, true, false or null), got the end of the file)',
  );
  assert.equal(
    refusal(`${'{"a":['.repeat(100_000)}1${']}'.repeat(99_999)}]`),
    "f.json: not JSON (line 1, column 800001: expected ',' or '}', got the end of the file)",
  );
});

test('json-input: a JSON text with one character put in, taken out or changed that JSON.parse refuses is refused at a line and column within the text or at its end (seed 7)', () => {
  const corrupted = fc
    .tuple(fc.json(), fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom(...'{}[],:"\\ \n0-.eE+tfnulx/*\u0001\u00a0'))
    .map(([t, at, how, c]) => {
      const k = t.length === 0 ? 0 : at % t.length;
      if (how === 'insert') return t.slice(0, k) + c + t.slice(k);
      if (how === 'delete') return t.slice(0, k) + t.slice(k + 1);
      return t.slice(0, k) + c + t.slice(k + 1);
    })
    .filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    });
  fc.assert(
    fc.property(corrupted, (t) => {
      const fault = jsonFault(t);
      assert.ok(fault !== null && fault.at >= 0 && fault.at <= t.length, JSON.stringify(t));
      assert.match(refusal(t), /^f\.json: not JSON \(line \d+, column \d+: expected .+, got (?:'.+'|U\+[0-9A-F]{4}|the end of the file)\)$/);
    }),
    { seed: 7, numRuns: 2000 },
  );
});

test('json-input: a property name given twice in one object is refused at the second, naming the first (JSON.parse kept the last silently)', () => {
  assert.equal(
    refusal('{\n  "schedule": "a",\n  "x": 1,\n  "schedule": "b"\n}'),
    'f.json:4:3 property "schedule" given twice in one object (first at 2:3); expected each once',
  );
  // Names are compared unescaped, per object: the same name in two objects, or as a value, is no repeat.
  assert.equal(refusal('{"a": 1, "\\u0061": 2}'), 'f.json:1:10 property "a" given twice in one object (first at 1:2); expected each once');
  assert.deepEqual(parseJsonText('f.json', '{"a": {"a": "a"}, "b": [{"a": 1}, {"a": 2}], "c": "a"}'), {
    a: { a: 'a' },
    b: [{ a: 1 }, { a: 2 }],
    c: 'a',
  });
  // Deep nesting does not overflow the scan.
  assert.equal(duplicateKey(`${'[{"a":'.repeat(100_000)}1${'}]'.repeat(100_000)}`), null);
  // Any JSON of unique names passes; one name repeated in any object is found.
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v, null, 1);
      assert.equal(duplicateKey(text), null);
    }),
    { seed: 7, numRuns: 300 },
  );
});
