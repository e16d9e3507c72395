import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { ROOT, SPAWN_TEST_TIMEOUT, cleanup, get, requireBuild, spawnNode, tempDir, waitFor, waitForOutput } from './helpers.js';

beforeAll(requireBuild);
afterEach(cleanup);

interface Run {
  id: string;
  jobId: string;
  status: string;
  parentId?: string;
  counts?: Record<string, number>;
}

it('runs the demo deployment: feeds group, children per source, clean stop', { timeout: SPAWN_TEST_TIMEOUT }, async () => {
  const data = tempDir('tip-demo-');
  const p = spawnNode([join(ROOT, 'examples/demo/run.ts'), '--port', '0', '--data', data], { TIP_DEMO_LOG_FORMAT: 'json' });
  const [, url] = await waitForOutput(p, /^TIP is running at (http:\/\/127\.0\.0\.1:\d+\/)$/m);

  // Core's /api/jobs: triggers as the jobs declared them.
  const jobs = JSON.parse((await get(`${url}api/jobs`)).body) as Array<{ id: string; group: boolean; triggers: Array<Record<string, unknown>> }>;
  expect(jobs.map((j) => j.id).sort()).toEqual(['blacklist', 'demo.feeds', 'demo.heartbeat', 'demo.report']);
  expect(jobs.find((j) => j.id === 'demo.feeds')).toMatchObject({ group: true, triggers: [{ every: '20s' }] });
  expect(jobs.find((j) => j.id === 'demo.heartbeat')!.triggers[0]).toMatchObject({ cron: '* * * * *' });

  // The group runs right at start and its row is written as "running" right away: wait (bounded)
  // until the first run has ended, whatever the machine's load.
  const group = await waitFor(
    'the first demo.feeds run to end',
    async () => {
      const runs = JSON.parse((await get(`${url}api/runs?job=demo.feeds&limit=5`)).body) as Run[];
      const first = runs.at(-1);
      return first && first.status !== 'running' ? first : undefined;
    },
    p.stdout,
  );
  expect(group.status).toBe('succeeded');
  const children = JSON.parse((await get(`${url}api/runs?parent=${group.id}`)).body) as Run[];
  expect(children.map((c) => c.jobId).sort()).toEqual(['demo.feeds/domains', 'demo.feeds/drop', 'demo.feeds/drop-mirror', 'demo.feeds/phishing']);
  const drop = children.find((c) => c.jobId === 'demo.feeds/drop')!;
  expect(drop.counts).toEqual({ records: 18, invalid: 2 });

  const page = await get(url!);
  expect(page.body).toContain('demo.feeds/drop-mirror');
  await waitForOutput(p, /cycle 1: 4\/4 sources ok/);

  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
  expect(p.stdout()).toContain('TIP stopped');
});
