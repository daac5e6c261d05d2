import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SparseBitmap } from '../../src/runtime/sparse-bitmap.js';
import { effectiveSettings } from '../../src/scenario/instantiate.js';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/simulate/simulate.js';

/** Indices around a chunk's and a word's edges, and far apart. */
const index = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.integer({ min: 0, max: 2 ** 40 }),
  fc.constantFrom(0, 31, 32, 4095, 4096, 2 ** 31 - 1, 2 ** 31, 2 ** 32),
);
const op = fc.oneof(
  fc.record({ k: fc.constant('add' as const), i: index }),
  fc.record({ k: fc.constant('delete' as const), i: index }),
  // Long enough, now and then, to take the set past its Set form.
  fc.record({ k: fc.constant('range' as const), i: index, n: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 60_000, max: 70_000 })) }),
);

test('SparseBitmap: the members, size and ascending order of a Set of the same adds, deletes and ranges, in its Set form and past it', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const b = new SparseBitmap();
      const model = new Set<number>();
      for (const o of ops) {
        if (o.k === 'add') assert.equal(b.add(o.i), !model.has(o.i));
        if (o.k === 'add') model.add(o.i);
        if (o.k === 'delete') assert.equal(b.delete(o.i), model.delete(o.i));
        if (o.k === 'range') {
          b.addRange(o.i, o.i + o.n);
          for (let i = o.i; i < o.i + o.n; i++) model.add(i);
        }
        assert.equal(b.size, model.size);
      }
      const sorted = [...model].sort((x, y) => x - y);
      assert.deepEqual([...b], sorted);
      for (const o of ops) assert.equal(b.has(o.i), model.has(o.i));
      // A snapshot keeps what was there when taken.
      const snap = b.snapshot();
      b.add(7);
      b.delete(sorted[0] ?? 0);
      assert.deepEqual([...snap], sorted);
    }),
    { numRuns: 150, seed: 42 },
  );
});

test('dirty logging of a memslot of 2^25 pages runs (a probe: its every page went into a Set, which stops at 2^24: "Set maximum size exceeded", exit 3)', () => {
  const file = 'big-log.yaml';
  const s = parseScenario(
    'vm: { vcpus: 1, memslots: [{ id: 0, baseGfn: 0, pages: 33554432 }], apicAccessPage: false }\nworkload: { gfnStart: 0, gfnCount: 16 }\nhost: { dirtyLog: { slot: 0 } }\nstop: { timeNs: 1000 }\n',
    file,
  );
  const r = simulate(s, { settings: effectiveSettings(s), mutant: null, seed: s.seed });
  assert.equal(r.modelBug, null);
  assert.equal(r.metrics.dirtyLog?.pagesCopied, 2, 'the first full copy has begun: two pages by the stop, at 500 ns a page');
});
