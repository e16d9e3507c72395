import type { StandardSchemaV1 } from '@standard-schema/spec';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import { findUnknownKeys } from './unknownKeys.js';

/** One configuration problem: a dotted path (`blacklist.sources[2].url`) and what is wrong. */
export interface ConfigIssue {
  /** Where: a dotted path with array indexes (`blacklist.feeds[2].url`), or `(root)`. */
  path: string;
  /** What is wrong, for humans. */
  message: string;
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
 * Validates every section and returns the validated values by key; collects every problem of every
 * section before failing.
 *
 * @param raw the whole configuration object
 * @param sections core's schema (key `''`) and each plugin's
 * @param source names where the config came from, for the error message (a file path, "object")
 * @throws TipError `TIP_CONFIG_INVALID` with `details.issues: ConfigIssue[]` listing every bad path
 */
export async function validateConfig(
  raw: Record<string, unknown>,
  sections: readonly ConfigSection[],
  source = 'config',
): Promise<Map<string, unknown>> {
  const issues: ConfigIssue[] = [];
  const out = new Map<string, unknown>();
  const claimed = new Set(sections.map((s) => s.key));
  for (const section of sections) {
    const input = section.key === '' ? raw : (raw[section.key] ?? {});
    let result = section.schema['~standard'].validate(input);
    if (result instanceof Promise) result = await result;
    if (result.issues) {
      for (const issue of result.issues) issues.push({ path: formatPath(section.key, issue.path), message: issue.message });
      continue;
    }
    out.set(section.key, result.value);
    if ((section.unknownKeys ?? (section.key === '' ? 'allow' : 'reject')) === 'reject') {
      for (const { path, key } of findUnknownKeys(input, result.value)) {
        issues.push({ path: formatPath(section.key, path), message: `unknown key "${key}" (not read by ${section.owner})` });
      }
    }
  }
  for (const key of Object.keys(raw)) {
    if (!claimed.has(key) && !CORE_KEYS.has(key)) {
      issues.push({ path: key, message: 'unknown key: no installed plugin reads it (typo, or a plugin missing?)' });
    }
  }
  if (issues.length > 0) {
    const list = issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n');
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `invalid configuration in ${source} (${issues.length} problem${issues.length > 1 ? 's' : ''}):\n${list}`, {
      details: { source, issues },
    });
  }
  return out;
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
