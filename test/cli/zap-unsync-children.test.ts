import { test } from 'node:test';
import { assertDefaultCheckExhausts } from './captured-cli.js';

test('check zap-unsync-children-mini (the default check): no violation, every interleaving with at most 2 preemptions run (the fast zap taking an unsync page along with the root above it: test/kvm/zap-unsync-children.test.ts)', async () => {
  await assertDefaultCheckExhausts('zap-unsync-children-mini');
});
