import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shortestClaim } from '../../src/check/shortest.js';

test('shortest claim: with 0 preemptions it says none is shorter, not "none as short with fewer preemptions, none shorter with 0" (a probe: check root-zap-mini --mutate zap-root-no-request)', () => {
  assert.equal(shortestClaim(0), 'shortest: none shorter with no preemptions');
  assert.doesNotMatch(shortestClaim(0), /fewer|with 0/);
  assert.equal(shortestClaim(2), 'shortest: none as short with fewer preemptions, none shorter with 2');
  assert.equal(shortestClaim(1), 'shortest: none as short with fewer preemptions, none shorter with 1');
});
