// Installed alone: packs @tip/core, @tip/plugin-blacklist and @tip/cli, installs the tarballs into a
// fresh consumer project with npm's isolated layout (pnpm-like: every package sees only what it
// declares, nothing is hoisted), and runs them there with this Node. Catches undeclared
// dependencies, missing `files`/`exports` entries and anything that only works inside the monorepo.
// Slow (npm pack + npm install from the npm cache): skipped when CI_SKIP_PACK=1.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const PACKAGES = ['@tip/core', '@tip/plugin-blacklist', '@tip/cli'];
const SKIP = process.env.CI_SKIP_PACK === '1';
if (SKIP) console.warn('[skip] CI_SKIP_PACK=1: the packed-install test (npm pack + isolated npm install) is skipped');

/** This Node first on PATH, so npm and the installed bins run with it. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' };

/** Runs a command; resolves with its output, rejects with a message holding both streams. */
function run(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(cmd, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stdout}\n${stderr}`));
      else done({ stdout, stderr });
    });
  });
}

/** One `npm pack --json` entry. */
interface Packed {
  name: string;
  version: string;
  filename: string;
  files: Array<{ path: string }>;
}

let dir = '';
let packed: Packed[] = [];

describe.skipIf(SKIP)('packages installed alone (npm pack, isolated node_modules)', () => {
  beforeAll(async () => {
    for (const p of ['core', 'plugin-blacklist', 'cli']) {
      if (!existsSync(join(ROOT, 'packages', p, 'dist/index.js'))) throw new Error(`packages/${p}/dist is missing: run ./dev build (tsc -b) first`);
    }
    dir = mkdtempSync(join(tmpdir(), 'tip-pack-'));
    const pack = await run('npm', ['pack', '--json', '--pack-destination', dir, ...PACKAGES.flatMap((p) => ['-w', p])], ROOT);
    packed = JSON.parse(pack.stdout) as Packed[];
    const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:./${p.filename}`]));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tip-consumer', private: true, type: 'module', dependencies }, null, 2));
    const install = ['install', '--install-strategy=linked', '--no-audit', '--no-fund'];
    // Everything is in the npm cache after the monorepo's `npm ci`: try without the network first.
    await run('npm', [...install, '--offline'], dir).catch(async (err: unknown) => {
      console.warn(`packed-install test: offline install failed, retrying with --prefer-offline: ${String(err).slice(0, 500)}`);
      rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
      await run('npm', [...install, '--prefer-offline'], dir);
    });
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships dist (code and types), src for the tip-source condition, and no build leftovers', () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...PACKAGES].sort());
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files, p.name).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'src/index.ts']));
      expect(files.filter((f) => f.endsWith('.tsbuildinfo') || f.includes('test/')), p.name).toEqual([]);
    }
  });

  it('imports @tip/core and @tip/plugin-blacklist in a project that only depends on the tarballs', async () => {
    // strict layout: the consumer's node_modules holds only what it declares
    expect(existsSync(join(dir, 'node_modules/@mikro-orm'))).toBe(false);
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', 'await import("@tip/core"); const b = await import("@tip/plugin-blacklist"); console.log(typeof b.default)'], dir);
    expect(stdout.trim()).toBe('function');
  });

  it('starts and stops an app with the blacklist plugin on SQLite', async () => {
    const script = [
      "import { createTip } from '@tip/core';",
      "import blacklist from '@tip/plugin-blacklist';",
      "const app = await createTip({ config: { database: { url: 'sqlite:./app.sqlite' }, log: { level: 'silent' }, scheduler: { enabled: false } }, plugins: [blacklist()] });",
      'await app.start();',
      "console.log(app.state, app.scheduler.jobs().map((j) => j.id).includes('blacklist'));",
      'await app.stop();',
    ].join('\n');
    writeFileSync(join(dir, 'app.mjs'), script);
    const { stdout } = await run(process.execPath, ['app.mjs'], dir);
    expect(stdout.trim()).toBe('started true');
  });

  it('runs the tip bin: --version, and migrate with the installed blacklist plugin', async () => {
    const bin = join(dir, 'node_modules/.bin/tip');
    const cliVersion = (JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;
    expect((await run(bin, ['--version'], dir)).stdout.trim()).toBe(cliVersion);
    writeFileSync(join(dir, 'tip.config.json'), JSON.stringify({ database: { url: 'sqlite:./cli.sqlite' }, plugins: ['@tip/plugin-blacklist'] }));
    const { stdout } = await run(bin, ['migrate', '-c', 'tip.config.json'], dir);
    expect(stdout).toContain('applied @tip/plugin-blacklist/0001-blacklist');
  });
});
