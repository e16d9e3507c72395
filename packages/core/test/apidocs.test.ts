import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The API reference of every package (root typedoc.json, `./dev docs`) must build with zero
// warnings: every public member documented, no broken links, internals marked @internal. This runs
// the same check as `node_modules/.bin/typedoc --emit none`. Set CI_SKIP_DOCS=1 to skip it.
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const typedoc = join(root, 'node_modules/.bin/typedoc');
const skip = process.env.CI_SKIP_DOCS === '1';

/** Runs typedoc with the Node binary of this test process; resolves with exit code and output. */
function runTypedoc(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [typedoc, ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      // eslint-disable-next-line no-control-regex
      resolve({ code, output: `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '') });
    });
  });
}

describe('API reference', () => {
  it('typedoc.json enforces documentation and treats warnings as errors', () => {
    const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as {
      treatWarningsAsErrors?: boolean;
      packageOptions?: { validation?: { notDocumented?: boolean; invalidLink?: boolean }; excludeInternal?: boolean };
    };
    expect(config.treatWarningsAsErrors).toBe(true);
    expect(config.packageOptions?.validation).toMatchObject({ notDocumented: true, invalidLink: true });
    expect(config.packageOptions?.excludeInternal).toBe(true);
  });

  it.skipIf(skip)('builds with zero warnings (typedoc --emit none)', { timeout: 180_000 }, async () => {
    const { code, output } = await runTypedoc(['--emit', 'none']);
    const warnings = output.split('\n').filter((line) => line.includes('[warning]') || line.includes('[error]'));
    expect(warnings, output).toEqual([]);
    expect(code, output).toBe(0);
  });

  if (skip) console.warn('apidocs.test: CI_SKIP_DOCS=1, skipping the typedoc build check');
});
