import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FreedPfns } from '../../src/kvm/host-mm.js';
import { ObjectRegistry } from '../../src/runtime/objects.js';
import { SectionArray } from '../../src/runtime/section-array.js';

test('SectionArray: 0 where nothing was set, the value set elsewhere, across sections made out of order; below the base refused', () => {
  const a = new SectionArray(0x1000, Float64Array);
  assert.equal(a.get(0x1000), 0);
  a.set(0x1000 + 3 * 4096 + 5, 2.5);
  a.set(0x1000 + 20, 7);
  a.set(0x1000 + 4095, 1e12);
  assert.equal(a.get(0x1000 + 3 * 4096 + 5), 2.5);
  assert.equal(a.get(0x1000 + 20), 7);
  assert.equal(a.get(0x1000 + 4095), 1e12);
  assert.equal(a.get(0x1000 + 2 * 4096), 0);
  assert.equal(a.get(0x1000 + 3 * 4096 + 4), 0);
  assert.equal(a.get(0xfff), 0);
  assert.throws(() => a.set(0xfff, 1), RangeError);
});

test('FreedPfns keeps each freed pfn with its hva, time, kind and the thread that freed it, over many sections, counting each pfn once; past 255 threads the kind stands for the thread', () => {
  const f = new FreedPfns(0x1000);
  for (let i = 0; i < 20_000; i++) f.add(0x1000 + 2 * i, i, 10 * i, i % 3 === 0 ? 'numa' : 'migrate', `host${i % 300}`);
  f.add(0x1000, 0, 5, 'reclaim', 'apic-migrate');
  assert.equal(f.size, 20_000);
  assert.deepEqual(f.get(0x1000 + 2 * 9_999), { hva: 9_999, timeNs: 99_990, kind: 'numa', by: 'host99' });
  assert.deepEqual(f.get(0x1000 + 2 * 299), { hva: 299, timeNs: 2_990, kind: 'migrate', by: 'migrate' });
  assert.deepEqual(f.get(0x1000), { hva: 0, timeNs: 5, kind: 'reclaim', by: 'reclaim' });
  assert.equal(f.get(0x1001), undefined);
  assert.equal(f.has(0x1000 + 2 * 19_999), true);
  assert.equal(f.has(0x1000 + 2 * 20_000), false);
});

test('an object family folds keys onto its buckets by their low bits, and has a power of two of them', () => {
  const r = new ObjectRegistry();
  r.id('mmu_lock');
  const spte = r.family('spte', 64);
  assert.equal(spte(0), 1);
  assert.equal(spte(64 + 5), 6);
  assert.equal(spte(2 ** 40 + 63), 64);
  assert.equal(r.name(spte(70)), 'spte[6]');
  assert.throws(() => r.family('odd', 48), RangeError);
});

test('objects named after a family keep their ids and names, along the list and past it (a Map)', () => {
  const r = new ObjectRegistry();
  const lock = r.id('mmu_lock');
  const spte = r.family('spte', 64);
  const after = r.id('host pages');
  assert.equal(after, 65);
  const many = Array.from({ length: 40 }, (_, i) => r.id(`vcpu${i}`));
  assert.deepEqual([r.id('mmu_lock'), r.id('host pages'), r.id('vcpu39')], [lock, after, many[39]]);
  assert.deepEqual(
    [r.name(lock), r.name(spte(3)), r.name(after), r.name(many[39]!), r.name(1000)],
    ['mmu_lock', 'spte[3]', 'host pages', 'vcpu39', 'object1000'],
  );
  assert.equal(r.names.length, 106);
  assert.equal(r.names[65], 'host pages');
});
