// Node version guard for the `tip` bin. Deliberately imports nothing but node: builtins, so it runs
// (and explains itself) on Node versions where loading the CLI would crash: better-sqlite3 13 is a
// native module built for Node >= 22 and dies with a bare "Segmentation fault" on Node 20.
import { readFileSync } from 'node:fs';

/** A `major.minor.patch` version as numbers. */
type Version = [number, number, number];

/** Parses `22`, `22.17`, `v22.17.0` or `22.17.0-pre` into numbers (missing parts are 0); undefined when it is not a version. */
function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

/** -1, 0 or 1 as `a` is lower than, equal to or higher than `b`. */
function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0) ? -1 : 1;
  return 0;
}

/**
 * Does Node `found` satisfy the `engines.node` range `required`? Understands the forms packages
 * use for a minimum: `>=22.17`, `>=22.17.0`, `^22.17 || >=24` (any alternative matching is enough;
 * `^x.y` means `>=x.y` within major `x`). A range it cannot read is treated as satisfied, so the
 * guard never blocks a Node it does not understand.
 *
 * @param found - `process.versions.node`, e.g. `20.20.2`
 * @param required - the `engines.node` range, e.g. `>=22.17`
 */
export function satisfiesNodeRange(found: string, required: string): boolean {
  const version = parseVersion(found);
  if (!version) return true;
  return required.split('||').some((alternative) => {
    const m = /^\s*(>=|\^|~)?\s*(v?\d+(?:\.\d+){0,2})\s*$/.exec(alternative);
    const min = m ? parseVersion(m[2] ?? '') : undefined;
    if (!m || !min) return true;
    if (compare(version, min) < 0) return false;
    if (m[1] === '^') return version[0] === min[0];
    if (m[1] === '~') return version[0] === min[0] && version[1] === min[1];
    return m[1] === '>=' || compare(version, min) === 0;
  });
}

/**
 * The message printed when Node `found` is too old for the `required` range: both versions, and
 * how to get a suitable Node. Undefined when `found` is fine.
 */
export function nodeVersionProblem(found: string, required: string): string | undefined {
  if (satisfiesNodeRange(found, required)) return undefined;
  return [
    `tip: Node.js ${required} is required, but this is Node.js ${found} (${process.execPath}).`,
    'tip: in a TIP checkout, run the CLI through `./dev tip …` (it installs a suitable Node under .tools/);',
    'tip: otherwise install Node.js 22.17 or newer (e.g. from https://nodejs.org or with nvm) and run tip with it.',
  ].join('\n');
}

/** The `engines.node` range of the `@tip/cli` package.json next to this module's folder (`>=22.17` if unreadable). */
export function requiredNodeRange(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines?: { node?: unknown } };
    return typeof pkg.engines?.node === 'string' ? pkg.engines.node : '>=22.17';
  } catch {
    return '>=22.17';
  }
}
