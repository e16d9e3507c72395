import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The conditions a plugin package's `exports` map is matched against (Node's ESM `import`). */
export const IMPORT_CONDITIONS: readonly string[] = ['node', 'import', 'module-sync', 'default'];

interface PackageJson {
  name?: string;
  main?: string;
  exports?: unknown;
}

/** Splits `@scope/name/sub/path` into the package name and the `exports` subpath (`./sub/path`). */
export function splitSpecifier(spec: string): {
  /** The package name, e.g. `@scope/name`. */
  name: string;
  /** The `exports` key, e.g. `./sub/path` or `.`. */
  subpath: string;
} {
  const parts = spec.split('/');
  const size = spec.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, size).join('/');
  if (parts.length < size || !name || (size === 2 && !parts[1]) || name.includes('\\') || name.includes('%')) {
    throw new Error(`"${spec}" is not a valid package name`);
  }
  const rest = parts.slice(size).join('/');
  return { name, subpath: rest ? `./${rest}` : '.' };
}

/**
 * Resolves a bare module specifier (`@tip/plugin-blacklist`, `some-pkg/sub`) to a file the way
 * Node's ESM loader would if the import were written in a module inside `fromDir`: it looks for
 * `node_modules/<name>` in `fromDir` and each parent folder, then follows the package's `exports`
 * map with the `import` conditions (or `main`, then `index.js`, when it has none).
 *
 * Node's own `import.meta.resolve(spec, parent)` ignores `parent` unless started with
 * `--experimental-import-meta-resolve`, and `require.resolve` matches the `require` conditions, so
 * neither resolves ESM-only plugin packages relative to a config file.
 *
 * @returns the absolute path of the module file
 * @throws Error naming the package when it is not installed or does not export the subpath
 */
export function resolvePackage(spec: string, fromDir: string, conditions: readonly string[] = IMPORT_CONDITIONS): string {
  const { name, subpath } = splitSpecifier(spec);
  let dir = resolve(fromDir);
  let pkgDir: string | undefined;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) {
      pkgDir = candidate;
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (!pkgDir) throw new Error(`package "${name}" is not installed (looked in node_modules folders from ${resolve(fromDir)} up)`);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as PackageJson;
  if (pkg.exports !== undefined && pkg.exports !== null) {
    const target = resolveExports(pkg.exports, subpath, conditions);
    if (target === undefined) {
      throw new Error(`package "${name}" (${pkgDir}) does not export "${subpath}" for conditions ${conditions.join(', ')}`);
    }
    return join(pkgDir, target);
  }
  const file = firstFile(pkgDir, subpath === '.' ? (pkg.main ?? 'index.js') : subpath);
  if (!file) throw new Error(`package "${name}" (${pkgDir}) has no module file for "${subpath}"`);
  return file;
}

/** Resolves `subpath` through an `exports` value; returns a package-relative path or undefined. */
export function resolveExports(exports: unknown, subpath: string, conditions: readonly string[]): string | undefined {
  const isSubpathMap = typeof exports === 'object' && !Array.isArray(exports) && Object.keys(exports as object).some((k) => k.startsWith('.'));
  const map = (isSubpathMap ? exports : { '.': exports }) as Record<string, unknown>;
  if (Object.hasOwn(map, subpath) && !subpath.includes('*')) return target(map[subpath], conditions, undefined);
  let best: { key: string; match: string } | undefined;
  for (const key of Object.keys(map)) {
    const star = key.indexOf('*');
    if (star < 0 || key.indexOf('*', star + 1) >= 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.length < key.length || !subpath.startsWith(prefix) || !subpath.endsWith(suffix)) continue;
    if (!best || prefix.length > best.key.indexOf('*')) best = { key, match: subpath.slice(prefix.length, subpath.length - suffix.length) };
  }
  return best ? target(map[best.key], conditions, best.match) : undefined;
}

function target(value: unknown, conditions: readonly string[], match: string | undefined): string | undefined {
  if (typeof value === 'string') {
    if (!value.startsWith('./')) return undefined;
    return match === undefined ? value : value.replaceAll('*', match);
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const r = target(v, conditions, match);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [condition, v] of Object.entries(value)) {
      if (condition !== 'default' && !conditions.includes(condition)) continue;
      const r = target(v, conditions, match);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

function firstFile(pkgDir: string, rel: string): string | undefined {
  const base = join(pkgDir, rel);
  for (const file of [base, `${base}.js`, `${base}.mjs`, join(base, 'index.js')]) {
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}
