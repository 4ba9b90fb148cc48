import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** A JSON pointer's segments (`/faults/0/percent` → ['faults', 0, 'percent']), indexes as numbers. */
export function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** How a path is shown to a person: `faults[0].percent`. */
export function displayPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out === '' ? '(the document)' : out;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * Where in the file a path is: the key of a mapping entry (so an unknown or wrong key points at its name), an item
 * of a list, or — for a path that does not exist, as with a missing key — the nearest enclosing node that does.
 */
export function locate(doc: Document, lines: LineCounter, segments: readonly (string | number)[]): Position {
  let node: Node | null | undefined = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) break;
      offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (item === undefined) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}
