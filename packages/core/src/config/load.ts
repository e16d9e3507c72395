import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';

/** What a config file holds: configuration plus (for the CLI) the plugins to load. */
export interface TipConfigFile {
  /** Plugin specs: a module name or path, optionally with options: `["@tip/plugin-blacklist", ["./my.js", { … }]]`. */
  plugins?: Array<string | [string, unknown]>;
  [key: string]: unknown;
}

/** Result of {@link loadConfigFile}. */
export interface LoadedConfig {
  /** Absolute path of the file. */
  path: string;
  /** The configuration with env overrides applied and `baseDir` set to the file's folder. */
  config: Record<string, unknown>;
  /** Plugin specs, as written. */
  plugins: Array<string | [string, unknown]>;
  /** Ready plugin objects exported by a `.ts`/`.js` config (`export default { plugins: [blacklist()] }`). */
  pluginObjects: unknown[];
}

/**
 * Reads `tip.config.json`, `.ts`, `.mts`, `.js` or `.mjs` (TypeScript through Node's type
 * stripping), applies `TIP_…` environment overrides, and returns config and plugin specs.
 *
 * @throws TipError `TIP_CONFIG_UNREADABLE` naming the file (and the JSON position when it is bad JSON)
 */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const path = resolve(file);
  let data: unknown;
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.json') {
      data = JSON.parse(await readFile(path, 'utf8'));
    } else if (['.ts', '.mts', '.js', '.mjs', '.cjs'].includes(ext)) {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      data = mod.default ?? mod;
      if (typeof data === 'function') data = await (data as () => unknown)();
    } else {
      throw new Error(`unsupported extension "${ext}" (use .json, .ts, .mts, .js or .mjs)`);
    }
  } catch (err) {
    throw new TipError(TipErrorCodes.CONFIG_UNREADABLE, `cannot read config file ${path}: ${describeError(err)}`, {
      cause: err,
      details: { file: path },
    });
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new TipError(TipErrorCodes.CONFIG_UNREADABLE, `config file ${path} must hold an object`, { details: { file: path } });
  }
  const { plugins = [], ...config } = data as TipConfigFile;
  const specs: Array<string | [string, unknown]> = [];
  const objects: unknown[] = [];
  for (const p of Array.isArray(plugins) ? plugins : []) {
    if (typeof p === 'string' || (Array.isArray(p) && typeof p[0] === 'string')) specs.push(p as string | [string, unknown]);
    else objects.push(p);
  }
  config.baseDir ??= dirname(path);
  return { path, config: applyEnvOverrides(config, env), plugins: specs, pluginObjects: objects };
}

/**
 * Applies `TIP_<SECTION>__<KEY>=value` environment variables: `__` separates levels, the rest of
 * each segment is SNAKE_CASE turned into camelCase (`TIP_DATABASE__AUTO_MIGRATE=false` →
 * `database.autoMigrate = false`). Values are parsed as JSON when they parse, else kept as strings.
 * Returns a new object; the input is not modified.
 */
export function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out = structuredClone(config);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TIP_') || value === undefined || !name.includes('__')) continue;
    const path = name.slice(4).split('__').map(camel);
    if (path.some((p) => p.length === 0 || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      /* keep as string */
    }
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = parsed;
  }
  return out;
}

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
