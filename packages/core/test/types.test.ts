import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// Type-level checks of the published API: the fixtures import `@tip/core` through the workspace
// symlink, which resolves to the built dist .d.ts (`./dev build` / `./dev test` build it first),
// and are compiled with `tsc --strict` like a consumer project would.
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const compilerOptions = {
  target: 'ES2023',
  lib: ['ES2023', 'DOM'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
};
// Fixtures that must fail are written at run time under node_modules/.cache (out of the repo-wide
// type-check of tests), still inside the repo so `@tip/core` resolves through its node_modules.
const cache = join(root, 'node_modules/.cache');
mkdirSync(cache, { recursive: true });
const scratch = mkdtempSync(join(cache, 'tip-types-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function compile(dir: string, files: string[]): Promise<{ code: number; output: string }> {
  const project = join(dir, `tsconfig.${files[0]!.replace(/\W/g, '-')}.json`);
  writeFileSync(project, JSON.stringify({ compilerOptions, files }));
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsc, '-p', project], { cwd: root });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  } finally {
    rmSync(project, { force: true });
  }
}

describe('types seen by a strict consumer', () => {
  it('@tip/core is built', () => {
    expect(existsSync(join(root, 'packages/core/dist/index.d.ts')), 'run ./dev build first').toBe(true);
  });

  it('after() triggers type-check as Trigger, in JobDefinitions and with events declared by merging', async () => {
    const { code, output } = await compile(join(here, 'fixtures/types'), ['consumer.ts']);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('the payload of when() stays typed: a wrong property access fails to compile', async () => {
    writeFileSync(
      join(scratch, 'wrong-payload.ts'),
      "import { after, type Trigger } from '@tip/core';\nexport const wrong: Trigger = after('job.group.completed', (s) => s.nope > 0);\n",
    );
    const { code, output } = await compile(scratch, ['wrong-payload.ts']);
    expect(code).not.toBe(0);
    expect(output).toContain("error TS2339: Property 'nope' does not exist on type 'GroupSummary'");
    expect(output).not.toContain('TS2322');
  }, 120_000);
});
