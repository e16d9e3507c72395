/**
 * A deliberately small JSON path language for the `json` parser:
 * `$` (optional root), `.name` / `name`, `["name"]` / `['name']`, `[n]` (array index), `[*]` / `.*`
 * (every element of an array or every value of an object). Examples: `[*]`, `data[*].ip_address`,
 * `a.b[*].c`.
 *
 * @module
 */

/** One compiled path step. */
export type PathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'all' };

function isNameChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24 || c === 0x2d || c > 0x7f;
}

/**
 * Compiles a path.
 *
 * @returns the steps, or a string describing the syntax error
 */
export function compilePath(path: string): PathStep[] | string {
  const steps: PathStep[] = [];
  let i = 0;
  if (path.startsWith('$')) i = 1;
  let needSep = false;
  while (i < path.length) {
    const c = path.charCodeAt(i);
    if (c === 0x2e /* . */) {
      i++;
      if (path[i] === '*') {
        steps.push({ kind: 'all' });
        i++;
        needSep = true;
        continue;
      }
      const start = i;
      while (i < path.length && isNameChar(path.charCodeAt(i))) i++;
      if (i === start) return `expected a name at position ${start}`;
      steps.push({ kind: 'key', key: path.slice(start, i) });
      needSep = true;
    } else if (c === 0x5b /* [ */) {
      const close = path.indexOf(']', i);
      if (close < 0) return `unclosed "[" at position ${i}`;
      const inner = path.slice(i + 1, close).trim();
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^\d{1,9}$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (inner.length >= 2 && (inner[0] === '"' || inner[0] === "'") && inner[inner.length - 1] === inner[0]) {
        steps.push({ kind: 'key', key: inner.slice(1, -1) });
      } else return `invalid selector "[${inner}]" at position ${i}`;
      i = close + 1;
      needSep = true;
    } else {
      if (needSep) return `unexpected "${path[i]}" at position ${i}`;
      const start = i;
      while (i < path.length && isNameChar(path.charCodeAt(i))) i++;
      if (i === start) return `unexpected "${path[i]}" at position ${i}`;
      steps.push({ kind: 'key', key: path.slice(start, i) });
      needSep = true;
    }
  }
  return steps;
}

/**
 * Nesting depth of a JSON text (arrays and objects), counted without parsing; strings are skipped.
 * Stops early and returns `limit + 1` once `limit` is exceeded.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // skip the string
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * Evaluates compiled steps against a parsed document.
 *
 * @returns the selected values, or null when more than `maxValues` would be selected
 */
export function selectPath(root: unknown, steps: readonly PathStep[], maxValues: number): unknown[] | null {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (typeof v !== 'object' || v === null) continue;
      if (step.kind === 'all') {
        const values = Array.isArray(v) ? v : Object.values(v);
        if (next.length + values.length > maxValues) return null;
        for (const x of values) next.push(x);
      } else if (step.kind === 'index') {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (!Array.isArray(v) && Object.hasOwn(v, step.key)) {
        next.push((v as Record<string, unknown>)[step.key]);
      }
      if (next.length > maxValues) return null;
    }
    current = next;
  }
  return current.length > maxValues ? null : current;
}
