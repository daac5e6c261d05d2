/**
 * A value as a refusal quotes it: its JSON, cut to a few dozen characters, of
 * which only those are written; `missing` when it is absent.
 */
export function quotedValue(v: unknown, missing: string): string {
  if (v === undefined) return missing;
  const text = jsonPrefix(v, 41);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * JSON of `v` as far as its first `room` characters or a little past (what a
 * refusal cuts it to anyway): a value nested 10,000 deep or of a million
 * items costs what is shown, where JSON.stringify of it all overflowed the
 * stack. Each level walked writes a bracket, so the depth stays under `room`.
 * Cut short, the text is at least `room` long (a bracket is closed only when
 * all within was written).
 */
function jsonPrefix(v: unknown, room: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > room ? v.slice(0, room) : v);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += ',';
      if (s.length >= room) return s;
      s += jsonPrefix(v[i], room - s.length);
    }
    return s.length < room ? `${s}]` : s;
  }
  if (typeof v === 'object' && v !== null) {
    let s = '{';
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      if (s.length > 1) s += ',';
      if (s.length >= room) return s;
      s += `${jsonPrefix(k, room - s.length)}:`;
      if (s.length >= room) return s;
      s += jsonPrefix((v as Record<string, unknown>)[k], room - s.length);
    }
    return s.length < room ? `${s}}` : s;
  }
  return JSON.stringify(v) ?? String(v);
}
