/**
 * The line of a key in TOML source, for messages. TOML parsers do not keep
 * positions, so this walks the lines the way a reader would: table headers
 * (`[link.isp1]`, `[[policy]]`) set the current path, `key = value` lines name
 * keys in it. Returns the best line found (the table's header when the key is
 * absent), or undefined.
 */
export function locateKey(source: string, path: readonly (string | number)[]): number | undefined {
  const lines = source.split('\n');
  const want = path.filter((p): p is string => typeof p === 'string');
  const arrayIndex = new Map<string, number>();
  let current: string[] = [];
  let best: { line: number; depth: number } | undefined;

  const consider = (keyPath: string[], line: number) => {
    let depth = 0;
    while (depth < keyPath.length && depth < want.length && keyPath[depth] === want[depth]) depth++;
    if (depth === keyPath.length && (!best || depth > best.depth)) best = { line, depth };
    // A table opened only through its sub-tables ([link.isp1], no [link]): its first one.
    else if (depth === want.length && depth < keyPath.length && (!best || depth > best.depth)) best = { line, depth };
  };

  lines.forEach((raw, i) => {
    const line = raw.trim();
    const header = /^\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (header) {
      const names = splitDotted(header[2] ?? '');
      if (header[1]) {
        // [[name]]: the n-th element of an array of tables.
        const key = names.join('.');
        const n = (arrayIndex.get(key) ?? -1) + 1;
        arrayIndex.set(key, n);
        current = names;
        const numeric = path.findIndex((p) => typeof p === 'number');
        if (numeric > 0 && path[numeric] !== n && names.join('.') === path.slice(0, numeric).join('.')) {
          current = ['\u0000'];
          return;
        }
      } else {
        current = names;
      }
      consider(current, i + 1);
      return;
    }
    const assign = /^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=/.exec(line);
    if (assign && current[0] !== '\u0000') consider([...current, ...splitDotted(assign[1] ?? '')], i + 1);
  });
  return best?.line;
}

function splitDotted(text: string): string[] {
  return text
    .split('.')
    .map((part) => part.trim().replace(/^["']|["']$/g, ''))
    .filter(Boolean);
}
