import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { ROOT, cleanup, get, requireBuild, spawnNode, tempDir, waitFor, waitForOutput } from './helpers.js';

beforeAll(requireBuild);
afterEach(cleanup);

interface Run {
  id: string;
  jobId: string;
  status: string;
  parentId?: string;
  counts?: Record<string, number>;
}

it('runs the demo deployment: feeds group, children per source, clean stop', async () => {
  const data = tempDir('tip-demo-');
  const p = spawnNode([join(ROOT, 'examples/demo/run.ts'), '--port', '0', '--data', data], { TIP_DEMO_LOG_FORMAT: 'json' });
  const [, url] = await waitForOutput(p, /^TIP is running at (http:\/\/127\.0\.0\.1:\d+\/)$/m);

  const jobs = JSON.parse((await get(`${url}api/jobs`)).body) as Array<{ id: string; group: boolean; triggers: Array<{ text: string }> }>;
  expect(jobs.map((j) => j.id).sort()).toEqual(['blacklist', 'demo.feeds', 'demo.heartbeat', 'demo.report']);
  expect(jobs.find((j) => j.id === 'demo.feeds')).toMatchObject({ group: true, triggers: [{ text: 'every 20s' }] });
  expect(jobs.find((j) => j.id === 'demo.heartbeat')!.triggers[0]!.text).toBe('cron * * * * *');

  // The group runs right at start; wait (bounded) until its run is recorded.
  const [group] = await waitFor(
    'a demo.feeds run',
    async () => {
      const runs = JSON.parse((await get(`${url}api/runs?job=demo.feeds&limit=5`)).body) as Run[];
      return runs.length > 0 ? runs : undefined;
    },
    p.stdout,
  );
  expect(group!.status).toBe('succeeded');
  const children = JSON.parse((await get(`${url}api/runs?parent=${group!.id}`)).body) as Run[];
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
