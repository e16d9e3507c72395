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

it('runs the demo deployment: feeds group, children per source, generated blacklist feeds, the sightings plugin page, clean stop', { timeout: SPAWN_TEST_TIMEOUT }, async () => {
  const data = tempDir('tip-demo-');
  const p = spawnNode([join(ROOT, 'examples/demo/run.ts'), '--port', '0', '--data', data], { TIP_DEMO_LOG_FORMAT: 'json' });
  const [, url] = await waitForOutput(p, /^TIP is running at (http:\/\/127\.0\.0\.1:\d+\/)$/m);

  // Core's /api/jobs: triggers as the jobs declared them.
  const jobs = JSON.parse((await get(`${url}api/jobs`)).body) as Array<{ id: string; group: boolean; triggers: Array<Record<string, unknown>> }>;
  expect(jobs.map((j) => j.id)).toEqual(expect.arrayContaining(['blacklist', 'demo.feeds', 'demo.heartbeat', 'demo.report']));
  expect(jobs.find((j) => j.id === 'demo.feeds')).toMatchObject({ group: true, triggers: [{ every: '20s' }] });
  expect(jobs.find((j) => j.id === 'blacklist')).toMatchObject({ group: true, triggers: [{ every: 20_000 }] });
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
  // the web UI (@tip/web built) or the CLI status page
  if (!page.body.includes('demo.feeds/drop-mirror')) {
    // The example plugin's page (examples/custom-source) is in the UI's manifest, its module served.
    const manifest = await get(`${url}api/ui/manifest`);
    expect(manifest.status).toBe(200);
    const { pages } = JSON.parse(manifest.body) as { pages: Array<{ id: string; moduleUrl: string }> };
    const sightingsPage = pages.find((pg) => pg.id === 'acme.sightings');
    expect(sightingsPage).toBeDefined();
    const pageModule = await get(new URL(sightingsPage!.moduleUrl, url).href);
    expect(pageModule.status).toBe(200);
    expect(pageModule.body).toContain('export function mount');
  }
  // Its route answers with the generated sightings once the first acme run has ended, the note
  // carrying an HTML payload included (as is: the page shows it as text).
  const sightings = await waitFor(
    'the first sightings run',
    async () => {
      const { items } = JSON.parse((await get(`${url}api/acme/sightings?minConfidence=0&limit=500`)).body) as { items: Array<{ source: string; note: string }> };
      return items.length > 0 ? items : undefined;
    },
    p.stdout,
  );
  expect(sightings.every((s) => s.source === 'acme-demo')).toBe(true);
  expect(sightings.some((s) => s.note.includes('<img'))).toBe(true);
  await waitForOutput(p, /cycle 1: 4\/4 sources ok/);

  // The blacklist plugin collects the six generated feeds; the progress line counts the listings.
  const [, added] = await waitForOutput(p, /blacklist cycle 1: \+(\d+) −0 listings, 6\/6 feeds ok/);
  expect(Number(added)).toBeGreaterThan(100);
  const { sources } = JSON.parse((await get(`${url}api/blacklist/sources`)).body) as { sources: Array<{ id: string; title: string; listed: number }> };
  const demo = sources.filter((s) => s.id.startsWith('demo-'));
  expect(demo.map((s) => s.id).sort()).toEqual(['demo-aggregator', 'demo-community', 'demo-malware-domains', 'demo-netblocks', 'demo-phishing', 'demo-scanners']);
  expect(demo.every((s) => s.listed > 0)).toBe(true);
  // attacker-controlled text reaches the API as is (the UI must render it inertly)
  expect(demo.find((s) => s.id === 'demo-community')!.title).toContain('<script>');

  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
  expect(p.stdout()).toContain('TIP stopped');
});
