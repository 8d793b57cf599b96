/**
 * Rewrites the references of a transaction's resources once the server has assigned ids:
 * Reference.reference values, any other string that is exactly a mapped fullUrl (uri, url,
 * uuid elements), and quoted occurrences in narrative (href/src), as transaction.html asks.
 */
export function rewriteReferences(node: unknown, map: ReadonlyMap<string, string>): unknown {
  if (typeof node === 'string') return map.get(node) ?? node;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = rewriteReferences(node[i], map);
    return node;
  }
  if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'div' && typeof v === 'string') obj[k] = rewriteNarrative(v, map);
      else obj[k] = rewriteReferences(v, map);
    }
  }
  return node;
}

function rewriteNarrative(div: string, map: ReadonlyMap<string, string>): string {
  if (!div.includes('urn:')) return div;
  return div.replace(/(href|src)="([^"]+)"/g, (all, attr: string, url: string) => {
    const to = map.get(url);
    return to ? `${attr}="${to}"` : all;
  });
}

/** Every Reference.reference string in a resource, with a setter, for conditional references. */
export function collectReferences(node: unknown, out: Array<{ holder: Record<string, unknown>; value: string }> = []) {
  if (Array.isArray(node)) for (const n of node) collectReferences(n, out);
  else if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if (typeof obj.reference === 'string') out.push({ holder: obj, value: obj.reference });
    for (const [k, v] of Object.entries(obj)) if (k !== 'reference' && typeof v === 'object') collectReferences(v, out);
  }
  return out;
}
