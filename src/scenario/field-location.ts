import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

/** Finds the YAML node at a zod issue path, for its line and column. */
export function nodeAt(root: Node | null | undefined, path: readonly PropertyKey[], atKey = false): Node | null {
  let node: Node | null | undefined = root;
  let last: Node | null = root ?? null;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown })?.value === key);
      if (!pair) return last;
      last = (pair.key as Node) ?? last;
      if (atKey && i === path.length - 1) return last;
      node = pair.value as Node;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as Node;
    } else {
      return last;
    }
    if (node) last = node;
  }
  return last;
}

/** A field as messages name it ('vm.memslots[0].pages', 'workload') as a path of keys and indices, or null when it is not one. */
export function fieldPath(field: string): (string | number)[] | null {
  if (!/^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$/.test(field)) return null;
  const path: (string | number)[] = [];
  for (const m of field.matchAll(/([A-Za-z_]\w*)|\[(\d+)\]/g)) path.push(m[1] !== undefined ? m[1] : Number(m[2]));
  return path;
}

/**
 * Where `field` is written in scenario text (its value, as the schema's
 * messages locate a bad value): its line and column, or those of the nearest
 * enclosing field written when it is not (a default); null when not even its
 * first key is written, or the text does not parse.
 */
export function fieldPosition(text: string, field: string): { line: number; col: number } | null {
  const path = fieldPath(field);
  if (path === null) return null;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) return null;
  const node = nodeAt(doc.contents, path);
  if (node === null || node === doc.contents || node.range == null) return null;
  return lineCounter.linePos(node.range[0]);
}
