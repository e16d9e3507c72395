import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';

/** What a config file holds: configuration plus (for the CLI) the plugins to load. */
export interface TipConfigFile {
  /** Plugin specs: a module name or path, optionally with options: `["@tip/plugin-blacklist", ["./my.js", { … }]]`. */
  plugins?: Array<string | [string, unknown]>;
  /** Core's keys (`database`, `scheduler`, …) and each plugin's section under its key. */
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
  /**
   * The config paths set by environment variables: dotted path (`scheduler.drainTimeout`) →
   * variable name (`TIP_SCHEDULER__DRAIN_TIMEOUT`). A `LoadedConfig` is a {@link ConfigOrigins}:
   * pass it to `validateConfig` so that errors name the variable instead of the file.
   */
  envPaths: Map<string, string>;
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
  const overridden = applyEnvOverridesWithOrigins(config, env);
  return { path, config: overridden.config, plugins: specs, pluginObjects: objects, envPaths: overridden.envPaths };
}

/**
 * Applies `TIP_<SECTION>__<KEY>=value` environment variables: `__` separates levels, the rest of
 * each segment is SNAKE_CASE turned into camelCase (`TIP_DATABASE__AUTO_MIGRATE=false` →
 * `database.autoMigrate = false`). Values are parsed as JSON when they parse, else kept as strings.
 * Returns a new object; the input is not modified.
 *
 * @see {@link applyEnvOverridesWithOrigins}, which also tells which variable set which path
 */
export function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  return applyEnvOverridesWithOrigins(config, env).config;
}

/** Result of {@link applyEnvOverridesWithOrigins}. */
export interface EnvOverrides {
  /** The configuration with the overrides applied (a new object). */
  config: Record<string, unknown>;
  /** Dotted config path → the environment variable that set it (`scheduler.drainTimeout` → `TIP_SCHEDULER__DRAIN_TIMEOUT`). */
  envPaths: Map<string, string>;
}

/**
 * Like {@link applyEnvOverrides}, and also returns which variable set which config path, so that
 * validation errors can name the variable (see `validateConfig`'s `origins`). Variables are
 * applied in name order, so the result does not depend on the environment's ordering.
 */
export function applyEnvOverridesWithOrigins(config: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): EnvOverrides {
  const out = structuredClone(config);
  const envPaths = new Map<string, string>();
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (!name.startsWith('TIP_') || value === undefined || !name.includes('__')) continue;
    const path = name.slice(4).split('__').map(camel);
    if (path.some((p) => p.length === 0 || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    setPath(out, path, parseEnvValue(value));
    const dotted = path.join('.');
    // A variable that replaces a whole object also replaces what earlier variables set inside it.
    for (const known of [...envPaths.keys()]) if (known.startsWith(`${dotted}.`)) envPaths.delete(known);
    envPaths.set(dotted, name);
  }
  return { config: out, envPaths };
}

/** JSON when it parses (`8`, `false`, `{"a":1}`), else the string itself. */
function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Sets `path` in `root`, replacing non-objects on the way by `{}`. */
function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
