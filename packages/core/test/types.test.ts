import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Type-level checks of the published API: the fixtures under fixtures/types import `@tip/core`
// through the workspace symlink, which resolves to the built dist .d.ts (`./dev build` / `./dev test`
// build it first), and are compiled with `tsc --strict` like a consumer project would.
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const fixtures = join(here, 'fixtures/types');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

async function compile(tsconfig: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsc, '-p', join(fixtures, tsconfig)], { cwd: root });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('types seen by a strict consumer', () => {
  it('@tip/core is built', () => {
    expect(existsSync(join(root, 'packages/core/dist/index.d.ts')), 'run ./dev build first').toBe(true);
  });

  it('after() triggers type-check as Trigger, in JobDefinitions and with events declared by merging', async () => {
    const { code, output } = await compile('tsconfig.json');
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('the payload of when() stays typed: a wrong property access fails to compile', async () => {
    const { code, output } = await compile('tsconfig.wrong.json');
    expect(code).not.toBe(0);
    expect(output).toContain("error TS2339: Property 'nope' does not exist on type 'GroupSummary'");
    expect(output).not.toContain('TS2322');
  }, 120_000);
});
