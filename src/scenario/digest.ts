import { createHash } from 'node:crypto';
import type { Scenario } from './schema.js';

/**
 * What a result records of the scenario it ran, so that `mmulab merge` can
 * tell two scenarios of the same name apart (x.yaml in two folders, a built-in
 * changed between versions): a SHA-256 of its content as loaded (defaults
 * filled in, keys sorted), resized by the size --sets. Comments and layout of
 * the file do not count.
 */
export function scenarioDigest(scenario: Scenario): string {
  return `sha256:${createHash('sha256').update(canonical(scenario)).digest('hex')}`;
}

/** JSON with every object's keys sorted, so that equal values give equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
