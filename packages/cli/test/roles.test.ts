import { join } from 'node:path';
import { tempPostgres, testDialects } from '@tip/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRole } from '../src/commands/run.js';
import { UsageError } from '../src/errors.js';
import { BIN, SPAWN_TEST_TIMEOUT, cleanup, fixtureConfig, get, requireBuild, spawnNode, tempDir, tipInProcess, waitFor, waitForOutput } from './helpers.js';

beforeAll(requireBuild);
afterEach(cleanup);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface StatusJson {
  jobs: Array<{ id: string; lastRun: { id: string; status: string } | null }>;
  workers: Array<{ id: string; pid: number; role?: string; mode: string; status: string }>;
}

const status = async (config: string): Promise<StatusJson> => {
  const r = await tipInProcess(['status', '--json', '-c', config]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
};

describe('tip run --role', () => {
  it('parses all, worker and web (default all); anything else is a usage error naming the option and the choices', async () => {
    expect(parseRole(undefined)).toBe('all');
    expect(['all', 'worker', 'web'].map(parseRole)).toEqual(['all', 'worker', 'web']);
    expect(() => parseRole('Worker')).toThrow(UsageError);
    const config = fixtureConfig(tempDir());
    const bad = await tipInProcess(['run', '--role', 'boss', '-c', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: --role must be one of all, worker, web (got "boss")');
    const help = await tipInProcess(['run', '--help']);
    expect(help.stdout).toMatch(/--role <role>\s+.+\(default all\)/);
  });

  it('a web process without --http fails clearly (it would do nothing)', async () => {
    const config = fixtureConfig(tempDir());
    const r = await tipInProcess(['run', '--role', 'web', '-c', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --role web needs --http <host:port>: a web process without HTTP does nothing');
  });

  it(
    'a worker serves only /healthz (its id, role and status) and /metrics; it is listed with its role',
    async () => {
      const dir = tempDir();
      const config = fixtureConfig(dir, {}, { serviceMarker: join(dir, 'marker') });
      const p = spawnNode([BIN, 'run', '--role', 'worker', '--http', '127.0.0.1:0', '-c', config, '--log-format', 'json']);
      const [, id, url] = await waitForOutput(p, /^TIP worker (\S+) running \(role worker\): takes jobs; services fixture\.marker; health and metrics at (http:\/\/127\.0\.0\.1:\d+\/)healthz/m);
      expect(id).toMatch(UUID);

      const health = await get(`${url}healthz`);
      expect(health.type).toContain('application/json');
      expect(JSON.parse(health.body)).toMatchObject({ ok: true, state: 'started', worker: { id, role: 'worker' }, reasons: [], services: [{ id: 'fixture.marker' }] });
      const metrics = await get(`${url}metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(new RegExp(`tip_worker_info\\{[^}]*worker="${id}"[^}]*role="worker"`));
      for (const path of ['api/jobs', 'api/health', 'api/fixture/greeting', '']) {
        expect((await get(`${url}${path}`)).status, path).toBe(404);
      }
      expect((await status(config)).workers.find((w) => w.id === id)).toMatchObject({ pid: p.child.pid, role: 'worker', mode: 'serve', status: 'live' });

      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    },
    SPAWN_TEST_TIMEOUT,
  );

  it(
    'a web process serves the status page and API, takes no jobs and runs no worker service',
    async () => {
      const dir = tempDir();
      const config = fixtureConfig(dir, {}, { serviceMarker: join(dir, 'marker') });
      const p = spawnNode([BIN, 'run', '--role', 'web', '--http', '127.0.0.1:0', '-c', config, '--log-format', 'json']);
      const [, id, url] = await waitForOutput(p, /^TIP worker (\S+) running \(role web\): takes no jobs .*; no services; status page and API at (http:\/\/127\.0\.0\.1:\d+\/)$/m);
      expect(JSON.parse((await get(`${url}healthz`)).body)).toMatchObject({ ok: true, worker: { id, role: 'web' }, services: [] });
      const jobs = await get(`${url}api/jobs`);
      expect(jobs.status).toBe(200);
      expect((JSON.parse(jobs.body) as Array<{ id: string }>).map((j) => j.id)).toContain('fixture.ok');
      const workers = JSON.parse((await get(`${url}api/workers`)).body) as Array<{ id: string; role?: string; scheduling: boolean; self: boolean }>;
      expect(workers.find((w) => w.id === id)).toMatchObject({ role: 'web', scheduling: false, self: true });
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    },
    SPAWN_TEST_TIMEOUT,
  );
});

describe('tip trigger through the cluster (in-process backend: the job runs in the command)', () => {
  it('--no-wait prints the run id once queued and exits 0; the run happens', async () => {
    const config = fixtureConfig(tempDir());
    const r = await tipInProcess(['trigger', 'fixture.ok', '--no-wait', '-c', config]);
    expect(r.code, r.stderr).toBe(0);
    const runId = r.stdout.trim();
    expect(runId).toMatch(UUID);
    expect((await status(config)).jobs.find((j) => j.id === 'fixture.ok')?.lastRun).toMatchObject({ id: runId, status: 'succeeded' });

    const json = await tipInProcess(['trigger', 'fixture.ok', '--no-wait', '--json', '-c', config]);
    expect(json.code, json.stderr).toBe(0);
    const { runId: second } = JSON.parse(json.stdout) as { runId: string };
    expect(second).toMatch(UUID);
    expect(second).not.toBe(runId);
  });

  it('prints "run <id> queued" on stderr, then the record of that run', async () => {
    const config = fixtureConfig(tempDir());
    const r = await tipInProcess(['trigger', 'fixture.ok', '-c', config]);
    expect(r.code, r.stderr).toBe(0);
    const [, runId] = /^run (\S+) queued$/m.exec(r.stderr) ?? [];
    expect(runId).toMatch(UUID);
    expect(r.stdout).toContain('job fixture.ok: succeeded');
    expect(r.stderr).not.toContain('no live worker'); // in-process backend: the command is the worker
    const json = await tipInProcess(['trigger', 'fixture.fail', '--json', '-c', config]);
    expect(json.code).toBe(1);
    expect(json.stderr).not.toContain('queued');
    expect(JSON.parse(json.stdout)).toMatchObject({ run: { jobId: 'fixture.fail', status: 'failed' } });
  });

  it('--timeout on a job that blocks exits 1 naming the job and the run; a bad --timeout or an unknown job is a usage error', async () => {
    const dir = tempDir();
    // fixture.slow waits for a file that is never created; the drain at stop then aborts it.
    const config = fixtureConfig(dir, { scheduler: { drainTimeout: '1s' } }, { holdUntil: join(dir, 'never') });
    const r = await tipInProcess(['trigger', 'fixture.slow', '--timeout', '1s', '-c', config]);
    expect(r.code).toBe(1);
    const [, runId] = /^run (\S+) queued$/m.exec(r.stderr) ?? [];
    expect(runId).toMatch(UUID);
    expect(r.stderr).toContain(`error: gave up waiting for job "fixture.slow" (run ${runId}) after 1s: the in-process backend runs it inside this command`);
    expect((await status(config)).jobs.find((j) => j.id === 'fixture.slow')?.lastRun).toMatchObject({ id: runId, status: 'aborted' });

    const bad = await tipInProcess(['trigger', 'fixture.ok', '--timeout', 'soon', '-c', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: --timeout must be a positive duration such as 30s or 10m (got "soon")');
    const unknown = await tipInProcess(['trigger', 'no.such.job', '--no-wait', '-c', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('error: no job "no.such.job"');
  });
});

describe.runIf(testDialects().includes('postgresql'))('tip trigger with scheduler.backend pg-boss', () => {
  it('warns that no live worker takes jobs before waiting; after --timeout the run goes on in the cluster', async () => {
    const db = await tempPostgres();
    try {
      const dir = tempDir();
      const config = fixtureConfig(dir, { database: { url: db.url }, scheduler: { backend: 'pg-boss', drainTimeout: '1s' } }, { holdUntil: join(dir, 'never') });
      const r = await tipInProcess(['trigger', 'fixture.slow', '--timeout', '1s', '-c', config]);
      expect(r.code, r.stderr).toBe(1);
      const [, runId] = /^run (\S+) queued$/m.exec(r.stderr) ?? [];
      expect(runId).toMatch(UUID);
      expect(r.stderr).toMatch(/^warning: no live worker takes jobs .+; start one with "tip run --role worker"$/m);
      expect(r.stderr.indexOf('warning: no live worker')).toBeGreaterThan(r.stderr.indexOf(`run ${runId} queued`));
      expect(r.stderr).toContain(`error: gave up waiting for job "fixture.slow" (run ${runId}) after 1s: the run goes on in the cluster`);
    } finally {
      await db.drop();
    }
  });

  it(
    'a run triggered from the CLI is taken by the live worker process (role worker), not by the command',
    async () => {
      const db = await tempPostgres();
      try {
        const config = fixtureConfig(tempDir(), { database: { url: db.url }, scheduler: { backend: 'pg-boss', pgBoss: { pollInterval: '500ms' } } });
        const worker = spawnNode([BIN, 'run', '--role', 'worker', '-c', config, '--log-format', 'json']);
        const [, workerId] = await waitForOutput(worker, /^TIP worker (\S+) running \(role worker\): takes jobs/m);
        const r = await tipInProcess(['trigger', 'fixture.ok', '--json', '-c', config]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).not.toContain('no live worker');
        const { run } = JSON.parse(r.stdout) as { run: { id: string; status: string; workerId?: string } };
        expect(run).toMatchObject({ status: 'succeeded', workerId });

        const queued = await tipInProcess(['trigger', 'fixture.ok', '--no-wait', '-c', config]);
        expect(queued.code, queued.stderr).toBe(0);
        const runId = queued.stdout.trim();
        expect(runId).toMatch(UUID);
        await waitFor('the queued run to succeed on the worker', async () => (await status(config)).jobs.find((j) => j.id === 'fixture.ok' && j.lastRun?.id === runId && j.lastRun.status === 'succeeded'));
        worker.child.kill('SIGTERM');
        expect(await worker.exited).toBe(0);
      } finally {
        await db.drop();
      }
    },
    SPAWN_TEST_TIMEOUT,
  );
});
