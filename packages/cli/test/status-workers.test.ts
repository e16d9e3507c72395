import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, SPAWN_TEST_TIMEOUT, cleanup, fixtureConfig, requireBuild, spawnNode, tempDir, tipInProcess, waitFor, waitForOutput } from './helpers.js';

beforeAll(requireBuild);
afterEach(cleanup);

interface StatusJson {
  jobs: Array<{ id: string; lastRun: { status: string; workerId?: string } | null }>;
  workers: Array<{ id: string; host: string; pid: number; role?: string; mode: string; scheduling: boolean; status: string; running: number; heartbeatAgeMs: number }>;
}

const status = async (config: string): Promise<StatusJson> => {
  const r = await tipInProcess(['status', '--json', '-c', config]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
};

describe('tip status lists the workers', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  it('a tip trigger is a stopped manual worker; its run names it', async () => {
    const config = fixtureConfig(tempDir());
    expect((await tipInProcess(['trigger', 'fixture.ok', '-c', config])).code).toBe(0);
    const s = await status(config);
    expect(s.workers).toHaveLength(1);
    const [w] = s.workers;
    expect(w).toMatchObject({ pid: process.pid, role: 'all', mode: 'run', scheduling: false, status: 'stopped', running: 0 });
    expect(s.jobs.find((j) => j.id === 'fixture.ok')?.lastRun).toMatchObject({ status: 'succeeded', workerId: w!.id });

    const text = await tipInProcess(['status', '-c', config]);
    expect(text.stdout).toMatch(/^WORKER\s+HOST\s+PID\s+ROLE\s+MODE\s+STATUS\s+LAST HEARTBEAT\s+RUNNING$/m);
    expect(text.stdout).toMatch(new RegExp(`^${w!.id}\\s+\\S+\\s+${process.pid}\\s+all\\s+run \\(no timers\\)\\s+stopped\\s+.+ ago\\s+0$`, 'm'));
  });

  it('a running tip run is a live worker with its running job, then stopped after SIGTERM', async () => {
    const dir = tempDir();
    const release = join(dir, 'release');
    const config = fixtureConfig(dir, {}, { holdUntil: release });
    const p = spawnNode([BIN, 'run', '-c', config, '--log-format', 'json']);
    await waitForOutput(p, /"msg":"slow job started"/);
    const pid = p.child.pid!;
    // The `running` row is written by the next history flush (within 250 ms).
    const live = await waitFor('the live worker with its running job', async () => {
      const w = (await status(config)).workers.find((x) => x.pid === pid);
      return w?.running === 1 ? w : undefined;
    });
    expect(live).toMatchObject({ role: 'all', mode: 'serve', scheduling: true, status: 'live' });
    const text = await tipInProcess(['status', '-c', config]);
    expect(text.stdout).toMatch(new RegExp(`^${live.id}\\s+\\S+\\s+${pid}\\s+all\\s+serve\\s+live\\s+.+ ago\\s+1$`, 'm'));

    p.child.kill('SIGTERM');
    await waitForOutput(p, /received SIGTERM: stopping/);
    writeFileSync(release, '');
    expect(await p.exited).toBe(0);
    expect((await status(config)).workers.find((x) => x.id === live.id)).toMatchObject({ status: 'stopped', running: 0 });
  });
});
