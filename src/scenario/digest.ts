import { createHash } from 'node:crypto';
import type { Scenario } from './schema.js';

/**
 * What a result records of the scenario it ran, so that `mmulab merge` can
 * tell two scenarios of the same name apart (a built-in changed between
 * versions, an edited copy) and see one scenario under two names: a SHA-256 of
 * its content as loaded (defaults filled in, keys sorted), resized by the size
 * --sets. Comments and layout of the file do not count, nor its name (a
 * built-in's, a file's path as given, or its `name` key): a copy of a built-in
 * runs with the built-in's digest.
 */
export function scenarioDigest(scenario: Scenario): string {
  return `sha256:${createHash('sha256')
    .update(canonical({ ...scenario, name: undefined }))
    .digest('hex')}`;
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
