import { TipError, TipErrorCodes } from '@tip/core';
import type { AllowlistSource, MispWarninglist } from './types.js';

const MISP_TYPES = new Set(['cidr', 'hostname', 'string', 'substring']);

function invalid(option: string, message: string, value?: unknown): TipError {
  return new TipError(TipErrorCodes.CONFIG_INVALID, `MISP warninglist: ${option} ${message}`, {
    details: { option, ...(value === undefined ? {} : { value }) },
  });
}

/**
 * Validates a MISP warninglist (parsed JSON object, or its JSON text) and turns it into an
 * {@link AllowlistSource} for {@link Allowlist.add}. The list name is `overrides.name`, else the
 * warninglist's `name`; the reason is its `description`.
 *
 * @throws TipError `TIP_CONFIG_INVALID` (details.option = `json`, `name`, `type` or `list`) when the
 *   input is not a warninglist or uses an unsupported type such as `regex`.
 */
export function parseMispWarninglist(json: unknown, overrides: { name?: string; reason?: string } = {}): AllowlistSource {
  let data: unknown = json;
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json);
    } catch (cause) {
      throw invalid('json', 'is not valid JSON', String(cause));
    }
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw invalid('json', 'must be an object');
  const w = data as Partial<Record<keyof MispWarninglist, unknown>>;
  const name = overrides.name ?? w.name;
  if (typeof name !== 'string' || name.trim() === '') throw invalid('name', 'must be a non-empty string', w.name);
  if (typeof w.type !== 'string' || !MISP_TYPES.has(w.type)) {
    throw invalid('type', 'must be one of cidr, hostname, string, substring', w.type);
  }
  if (!Array.isArray(w.list) || !w.list.every((e) => typeof e === 'string')) {
    throw invalid('list', 'must be an array of strings');
  }
  const reason = overrides.reason ?? (typeof w.description === 'string' && w.description ? w.description : `listed in ${name}`);
  return { name, reason, type: w.type as MispWarninglist['type'], entries: w.list as string[] };
}
