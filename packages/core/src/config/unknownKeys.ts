/**
 * Detection of configuration keys that a section's schema did not read. Works with any Standard
 * Schema by comparing the raw input with the validated output.
 *
 * @module
 * @internal
 */

/** One key present in the input but missing from the validated output. @internal */
export interface UnknownKey {
  /** Path segments from the section's root to the key (numbers are array indexes). */
  path: Array<string | number>;
  /** The key itself (the last segment). */
  key: string;
}

/**
 * True for `{}`-style objects (prototype `Object.prototype` or `null`); class instances, maps,
 * dates and the like are not walked.
 *
 * @internal
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Walks the raw `input` and the validated `output` of a schema together and lists every key of an
 * input plain object that is absent from the corresponding output object: keys the schema
 * silently stripped (a zod `z.object` strips unknown keys). Recurses into nested plain objects
 * present on both sides, and into arrays element by element when both are arrays of the same
 * length. Keys whose input value is `undefined` are ignored. A schema that keeps unknown keys
 * (zod `.passthrough()` / `.loose()`) therefore reports nothing.
 *
 * @internal
 */
export function findUnknownKeys(input: unknown, output: unknown, path: Array<string | number> = []): UnknownKey[] {
  const found: UnknownKey[] = [];
  if (isPlainObject(input) && isPlainObject(output)) {
    for (const [key, value] of Object.entries(input)) {
      if (value === undefined) continue;
      if (!Object.hasOwn(output, key)) found.push({ path: [...path, key], key });
      else found.push(...findUnknownKeys(value, output[key], [...path, key]));
    }
  } else if (Array.isArray(input) && Array.isArray(output) && input.length === output.length) {
    input.forEach((item, i) => found.push(...findUnknownKeys(item, output[i], [...path, i])));
  }
  return found;
}
