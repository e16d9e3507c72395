import type { StandardSchemaV1 } from '@standard-schema/spec';
import { TipError, TipErrorCodes } from '../errors/TipError.js';

/** One configuration problem: a dotted path (`blacklist.sources[2].url`) and what is wrong. */
export interface ConfigIssue {
  path: string;
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
    } else {
      out.set(section.key, result.value);
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
