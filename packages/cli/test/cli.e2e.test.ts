import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, SPAWN_TEST_TIMEOUT, cleanup, fixtureConfig, get, requireBuild, spawnNode, tempDir, tip, tipInProcess, waitForOutput } from './helpers.js';

beforeAll(requireBuild);
afterEach(cleanup);

// Every test here spawns the built `tip` binary a few times: each spawn costs about a second of CPU,
// so the tests are small and their timeout reflects process start-up on a loaded machine.
describe('tip one-shot commands', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  it('migrates, then reports the database as up to date', async () => {
    const config = fixtureConfig(tempDir());
    const migrate = await tip(['migrate', '-c', config]);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('applied @tip/core/0001-kernel');
    expect((await tip(['migrate', '-c', config])).stdout).toBe('database is up to date\n');
  });

  it('lists the declared jobs as JSON and as a table', async () => {
    const config = fixtureConfig(tempDir());
    const jobs = await tip(['jobs', '--json', '-c', config]);
    expect(jobs.code, jobs.stderr).toBe(0);
    const list = JSON.parse(jobs.stdout) as Array<{ id: string; plugin: string; group: boolean; description: string }>;
    expect(list.map((j) => j.id)).toEqual(['fixture.fail', 'fixture.group', 'fixture.ok', 'fixture.slow']);
    expect(list.find((j) => j.id === 'fixture.group')).toMatchObject({ plugin: 'tip-test-fixture', group: true, description: 'a group of two children' });
    expect((await tip(['jobs', '-c', config])).stdout).toMatch(/^JOB\s+PLUGIN\s+GROUP\s+TRIGGERS\s+DESCRIPTION/);
  });

  it('triggers a job: exit code 0 when it succeeds, 1 when it fails', async () => {
    const config = fixtureConfig(tempDir(), { fixture: { times: 3 } });
    const ok = await tip(['trigger', 'fixture.ok', '-c', config]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('job fixture.ok: succeeded');
    expect(ok.stdout).toContain('items=3');

    const failed = await tip(['trigger', 'fixture.fail', '-c', config]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('job fixture.fail: failed');
    expect(failed.stdout).toContain('deliberate failure for the test');
  });

  it('triggers a group with its children; an unknown job is exit code 2', async () => {
    const config = fixtureConfig(tempDir());
    const unknown = await tip(['trigger', 'no.such.job', '-c', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: no job "no.such.job"');
    expect(unknown.stderr).toContain('fixture.ok');

    const group = await tip(['trigger', 'fixture.group', '--json', '-c', config]);
    expect(group.code, group.stderr).toBe(0);
    const { run, children } = JSON.parse(group.stdout) as { run: { status: string; counts: object }; children: Array<{ jobId: string; status: string }> };
    expect(run).toMatchObject({ status: 'succeeded', counts: { children: 2, succeeded: 2, failed: 0 } });
    expect(children.map((c) => [c.jobId, c.status])).toEqual([
      ['fixture.group/a', 'succeeded'],
      ['fixture.group/b', 'succeeded'],
    ]);
  });

  it('shows each job with its last run', async () => {
    const config = fixtureConfig(tempDir());
    // The runs are prepared in this process (same code as the binary, no process start-up).
    expect((await tipInProcess(['trigger', 'fixture.ok', '-c', config])).code).toBe(0);
    expect((await tipInProcess(['trigger', 'fixture.fail', '-c', config])).code).toBe(1);

    const status = await tip(['status', '--json', '-c', config]);
    expect(status.code, status.stderr).toBe(0);
    const rows = (JSON.parse(status.stdout) as { jobs: Array<{ id: string; lastRun: { status: string; error?: string } | null }> }).jobs;
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId['fixture.ok']!.lastRun).toMatchObject({ status: 'succeeded' });
    expect(byId['fixture.fail']!.lastRun).toMatchObject({ status: 'failed', error: 'deliberate failure for the test' });
    expect(byId['fixture.slow']!.lastRun).toBeNull();
    expect((await tip(['status', '-c', config])).stdout).toMatch(/fixture\.fail\s+tip-test-fixture\s+manual\s+failed /);
  });

  it('prints every invalid config path on its own line, without a stack trace', async () => {
    const config = fixtureConfig(tempDir(), { scheduler: { concurrency: -1 }, fixture: { times: 'many' } });
    const r = await tip(['status', '-c', config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: invalid configuration in .*tip\.config\.json \(2 problems\):$/m);
    expect(r.stderr).toMatch(/^ {2}scheduler\.concurrency: .+$/m);
    expect(r.stderr).toMatch(/^ {2}fixture\.times: must be a positive integer$/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect((await tip(['status', '--verbose', '-c', config])).stderr).toMatch(/^\s+at /m);
  });

  it('names the plugin spec and the config file when a plugin cannot be loaded', async () => {
    const dir = tempDir();
    const missingFile = await tip(['jobs', '-c', fixtureConfig(dir, { plugins: ['./nope.mjs'] })]);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toContain('cannot load plugin "./nope.mjs"');
    expect(missingFile.stderr).toContain(join(dir, 'tip.config.json'));
    const missingPackage = await tip(['jobs', '-c', fixtureConfig(dir, { plugins: ['tip-plugin-that-does-not-exist'] })]);
    expect(missingPackage.code).toBe(1);
    expect(missingPackage.stderr).toContain('cannot load plugin "tip-plugin-that-does-not-exist"');
    expect(missingPackage.stderr).toContain('is not installed');
  });

  it('resolves plugin packages from the config folder through their exports map', async () => {
    const dir = tempDir();
    const pkg = join(dir, 'node_modules', '@acme', 'tip-plugin');
    mkdirSync(join(pkg, 'lib'), { recursive: true });
    // ESM only: `require.resolve` cannot see it, the import conditions can.
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@acme/tip-plugin', type: 'module', exports: { '.': { import: './lib/plugin.js' } } }));
    writeFileSync(
      join(pkg, 'lib', 'plugin.js'),
      `export default (opts) => ({ name: '@acme/tip-plugin', version: '1.0.0', core: '^0.2.0',
        register(ctx) { ctx.jobs.add({ id: 'acme.' + opts.suffix, run() {} }); } });\n`,
    );
    const r = await tip(['jobs', '--json', '-c', fixtureConfig(dir, { plugins: [['@acme/tip-plugin', { suffix: 'hello' }]] })]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ id: 'acme.hello', plugin: '@acme/tip-plugin' })]);
  });

  it('rejects command-line mistakes with exit code 2', async () => {
    const unknown = await tip(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badOption = await tip(['status', '--bogus']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('error: unknown option "--bogus"');
    // The same checks without a process each: main() is what the binary runs.
    expect((await tipInProcess(['trigger'])).code).toBe(2);
    expect((await tipInProcess(['run', '--http', 'nonsense'])).code).toBe(2);
    const help = await tipInProcess(['trigger', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: tip trigger <job> [options]');
    expect(help.stdout).toContain('-c, --config <file>');
  });
});

describe('tip run', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  it('serves the status endpoints and drains the running job on SIGTERM', async () => {
    const dir = tempDir();
    const release = join(dir, 'release');
    const config = fixtureConfig(dir, {}, { holdUntil: release });
    const p = spawnNode([BIN, 'run', '-c', config, '--http', '127.0.0.1:0', '--log-format', 'json']);
    const [, url] = await waitForOutput(p, /^TIP is running at (http:\/\/127\.0\.0\.1:\d+\/)$/m);

    const healthz = await get(`${url}healthz`);
    expect(healthz.status).toBe(200);
    expect(JSON.parse(healthz.body)).toMatchObject({ ok: true, state: 'started', worker: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), role: 'all' } });
    const jobs = await get(`${url}api/jobs`);
    expect(jobs.type).toContain('application/json');
    expect((JSON.parse(jobs.body) as Array<{ id: string }>).map((j) => j.id)).toContain('fixture.slow');
    const metrics = await get(`${url}metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('tip_jobs_running');
    const page = await get(url!);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('http-equiv="refresh" content="5"');
    expect(page.body).toContain('fixture.slow');
    expect((await get(`${url}nope`)).status).toBe(404);
    // The plugin's routes come through the routes point: read served, admin refused (no auth here).
    expect(JSON.parse((await get(`${url}api/fixture/greeting`)).body)).toEqual({ greeting: 'hello', times: 1 });
    expect((await fetch(`${url}api/fixture/greeting`, { method: 'POST' })).status).toBe(403);

    await waitForOutput(p, /"msg":"slow job started"/);
    p.child.kill('SIGTERM');
    await waitForOutput(p, /received SIGTERM: stopping/);
    expect(p.child.exitCode).toBeNull(); // still draining: the job has not been released
    writeFileSync(release, '');
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toContain('"msg":"slow job done"');
    expect(p.stdout()).toContain('"msg":"TIP stopped"');

    const status = await tip(['status', '--json', '-c', config]);
    const slow = (JSON.parse(status.stdout) as { jobs: Array<{ id: string; lastRun: { status: string; endedAt?: string } | null }> }).jobs.find((r) => r.id === 'fixture.slow');
    expect(slow?.lastRun).toMatchObject({ status: 'succeeded', endedAt: expect.any(String) });
  });

  it('exits with code 1 at once on a second signal', async () => {
    const dir = tempDir();
    const p = spawnNode([BIN, 'run', '-c', fixtureConfig(dir, {}, { holdUntil: join(dir, 'never') }), '--log-format', 'json']);
    await waitForOutput(p, /"msg":"slow job started"/);
    p.child.kill('SIGINT');
    await waitForOutput(p, /received SIGINT: stopping/);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(1);
    expect(p.stdout()).toContain('again: exiting without waiting');
  });
});

describe('lazy loading', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  const TRACE = join(ROOT, 'packages/cli/test/fixtures/trace-imports.ts');
  const traced = async (args: string[]) => {
    const p = spawnNode(['--import', TRACE, BIN, ...args]);
    return { code: await p.exited, stderr: p.stderr() };
  };

  it('answers --version, --help and usage mistakes without @tip/core, and lists jobs without a database driver', async () => {
    for (const args of [['--version'], ['jobs', '--help'], ['status', '--bogus']]) {
      const r = await traced(args);
      expect(r.code, args.join(' ')).not.toBe(1);
      expect(r.stderr, args.join(' ')).not.toMatch(/^import @tip\/core$/m);
    }
    // A command that needs the app does load it (so the trace works), but `tip jobs` loads no
    // database driver: it only registers the plugins.
    const jobs = await traced(['jobs', '-c', fixtureConfig(tempDir())]);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.stderr).toMatch(/^import @tip\/core$/m);
    expect(jobs.stderr).not.toMatch(/^import (@mikro-orm\/(sqlite|postgresql)|better-sqlite3|pg)$/m);
  });
});
