import { TipError, TipErrorCodes } from '@tip/core';

/** Set and table names: a letter or digit, then letters, digits, `_`, `.` or `-`. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Checks a user-given ipset / nftables set or table name and returns it. Only letters, digits,
 * `_`, `.` and `-` (starting with a letter or digit) get through, so a name can never end a
 * statement, open a block, start a comment or hold whitespace in `ipset restore` or `nft -f`
 * input, whatever the tools' own grammars allow.
 *
 * @param path - the option the name came from (`ipset.setName`, `nftables.table`, `name`), for the error
 * @param max - the longest name allowed
 * @param code - the error code (default `TIP_CONFIG_INVALID`; `TIP_INPUT_INVALID` for a name from a request)
 * @throws TipError `code` naming `path` and the name when it is unsafe or too long
 */
export function checkSetName(name: unknown, path: string, max: number, code: string = TipErrorCodes.CONFIG_INVALID): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > max || !SAFE_NAME.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name) : String(name);
    throw new TipError(code, `${path} ${shown} is not a valid set name (1 to ${max} letters, digits, "_", "." or "-", starting with a letter or digit)`, {
      details: { path, input: typeof name === 'string' ? name.slice(0, 256) : name, max },
    });
  }
  return name;
}
