import type { StandardSchemaV1 } from '@standard-schema/spec';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import type { LoadedConfig } from './load.js';
import { findUnknownKeys } from './unknownKeys.js';

/** One configuration problem: a dotted path (`blacklist.sources[2].url`) and what is wrong. */
export interface ConfigIssue {
  /** Where: a dotted path with array indexes (`blacklist.feeds[2].url`), or `(root)`. */
  path: string;
  /** What is wrong, for humans. */
  message: string;
  /** The environment variable that set the offending value, when it came from the environment. */
  env?: string;
}

/** A section of configuration validated by one schema (core's, or a plugin's under its key). */
export interface ConfigSection {
  /** Top-level key, or `''` for the root (core). */
  key: string;
  /** Who owns the key (for messages). */
  owner: string;
  /** Any Standard Schema (zod, valibot, arktype…). */
  schema: StandardSchemaV1;
  /**
   * What to do with keys in the section's input that the validated output lacks (typically keys a
   * zod `z.object` silently stripped: typos such as `intervall`). `'reject'` (the default for plugin
   * sections) reports each as an issue `unknown key "<k>" (not read by <owner>)`, at any depth
   * (nested objects, array elements). `'allow'` skips the check: use it for schemas that transform
   * or rename keys. The root section (key `''`, core) defaults to `'allow'`: its unknown top-level
   * keys are checked against the installed plugins instead, and its nested objects are strict.
   */
  unknownKeys?: 'reject' | 'allow';
}

function formatPath(prefix: string, path: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment> | undefined): string {
  let out = prefix;
  for (const seg of path ?? []) {
    const key = typeof seg === 'object' && seg !== null && 'key' in seg ? seg.key : seg;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

/**
 * Where parts of the configuration came from, so that errors blame the right place. A
 * {@link LoadedConfig} (from `loadConfigFile`) is one.
 */
export interface ConfigOrigins {
  /** Dotted config path → the environment variable that set it (`scheduler.drainTimeout` → `TIP_SCHEDULER__DRAIN_TIMEOUT`). */
  envPaths?: ReadonlyMap<string, string>;
}

/** Validates one section; returns its value, or nothing when it failed, and adds its issues. */
async function validateSection(raw: Record<string, unknown>, section: ConfigSection, issues: ConfigIssue[]): Promise<{ value: unknown } | undefined> {
  const input = section.key === '' ? raw : (raw[section.key] ?? {});
  let result = section.schema['~standard'].validate(input);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    for (const issue of result.issues) issues.push({ path: formatPath(section.key, issue.path), message: issue.message });
    return undefined;
  }
  if ((section.unknownKeys ?? (section.key === '' ? 'allow' : 'reject')) === 'reject') {
    for (const { path, key } of findUnknownKeys(input, result.value)) {
      issues.push({ path: formatPath(section.key, path), message: `unknown key "${key}" (not read by ${section.owner})` });
    }
  }
  return { value: result.value };
}

/**
 * The environment variable behind an issue: the one that set the issue's path or a path above it
 * (the most specific wins); else, for an issue about a key below its path (`unknown key "x"`,
 * zod's `Unrecognized key: "x"`), the one that set that key; else, for a top-level key no plugin
 * reads, any variable that set something inside it.
 */
function envOf(issue: ConfigIssue, envPaths: ReadonlyMap<string, string>): string | undefined {
  let best: string | undefined;
  let bestLength = -1;
  for (const [path, name] of envPaths) {
    const covers = issue.path === path || issue.path.startsWith(`${path}.`) || issue.path.startsWith(`${path}[`);
    if (covers && path.length > bestLength) {
      best = name;
      bestLength = path.length;
    }
  }
  if (best !== undefined) return best;
  const prefix = issue.path === '(root)' ? '' : `${issue.path}.`;
  for (const [path, name] of envPaths) {
    if (!path.startsWith(prefix)) continue;
    const key = path.slice(prefix.length).split('.')[0]!;
    if (issue.message.includes(`"${key}"`) || issue.message.startsWith('unknown key:')) return name;
  }
  return undefined;
}

/** The TIP_CONFIG_INVALID error listing every issue, naming the variable of env-set paths. */
function invalidConfig(issues: ConfigIssue[], source: string): TipError {
  const fromEnv = issues.filter((i) => i.env !== undefined).length;
  const where =
    fromEnv === 0 ? `in ${source}` : fromEnv === issues.length ? 'from environment variables' : `in ${source} and environment variables`;
  const list = issues
    .map((i) => `  - ${i.path}${i.env === undefined ? '' : ` (from environment variable ${i.env})`}: ${i.message}`)
    .join('\n');
  const count = `${issues.length} problem${issues.length > 1 ? 's' : ''}`;
  return new TipError(TipErrorCodes.CONFIG_INVALID, `invalid configuration ${where} (${count}):\n${list}`, {
    details: { source, issues },
  });
}

/**
 * Validates every section and returns the validated values by key; collects every problem of every
 * section before failing.
 *
 * @param raw the whole configuration object
 * @param sections core's schema (key `''`) and each plugin's
 * @param source names where the config came from, for the error message (a file path, "object")
 * @param origins which paths environment variables set (e.g. the {@link LoadedConfig} itself): an
 * issue at or under such a path is shown as `scheduler.drainTimeout (from environment variable
 * TIP_SCHEDULER__DRAIN_TIMEOUT): …` and carries `env`
 * @throws TipError `TIP_CONFIG_INVALID` with `details.issues: ConfigIssue[]` listing every bad path
 * and `details.source`
 */
export async function validateConfig(
  raw: Record<string, unknown>,
  sections: readonly ConfigSection[],
  source = 'config',
  origins: ConfigOrigins = {},
): Promise<Map<string, unknown>> {
  const issues: ConfigIssue[] = [];
  const out = new Map<string, unknown>();
  const claimed = new Set(sections.map((s) => s.key));
  for (const section of sections) {
    const result = await validateSection(raw, section, issues);
    if (result) out.set(section.key, result.value);
  }
  for (const key of Object.keys(raw)) {
    if (!claimed.has(key) && !CORE_KEYS.has(key)) {
      issues.push({ path: key, message: 'unknown key: no installed plugin reads it (typo, or a plugin missing?)' });
    }
  }
  if (issues.length === 0) return out;
  if (origins.envPaths && origins.envPaths.size > 0) {
    for (const issue of issues) {
      const env = envOf(issue, origins.envPaths);
      if (env !== undefined) issue.env = env;
    }
  }
  throw invalidConfig(issues, source);
}

const CORE_KEYS = new Set(['database', 'scheduler', 'http', 'log', 'metrics', 'lifecycle', 'baseDir', '$schema']);

/** Freezes an object graph in place (plain objects and arrays) and returns it. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
