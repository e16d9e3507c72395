import { definePlugin, every } from '@tip/core';
import { startTestTip } from '@tip/core/testing';
import { describe, expect, it } from 'vitest';
import { escapeHtml, renderStatusPage } from '../src/statusPage.js';
import { startStatusServer } from '../src/statusServer.js';

const plugin = definePlugin({
  name: 'status-test',
  version: '0.0.1',
  core: '^0.1.0',
  register(ctx) {
    ctx.jobs.add({ id: 'ok<script>', trigger: every('1h'), run: () => ({ counts: { n: 2 } }) });
    ctx.jobs.add({ id: 'broken', run: () => Promise.reject(new Error('<b>bad</b> & worse')) });
  },
});

describe('status server', () => {
  it('serves the page, the JSON API, metrics and health, escaping HTML', async () => {
    await using t = await startTestTip({ plugins: [plugin], start: { schedule: false } });
    await t.app.scheduler.trigger('ok<script>');
    await t.app.scheduler.trigger('broken');
    const server = await startStatusServer(t.app, { port: 0 });
    try {
      const base = server.url;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(base);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).not.toContain('<script>');
      expect(html).toContain('ok&#60;script&#62;');
      expect(html).toContain('&#60;b&#62;bad&#60;/b&#62; &#38; worse');
      expect(html).not.toMatch(/<(script|link|img)\b/);

      const jobs = (await (await fetch(`${base}api/jobs`)).json()) as Array<{ id: string; triggers: Array<{ text: string }> }>;
      expect(jobs.find((j) => j.id === 'ok<script>')!.triggers).toEqual([{ every: '1h', text: 'every 1h' }]);

      const runs = (await (await fetch(`${base}api/runs?job=broken&limit=1`)).json()) as Array<{ status: string; error: string }>;
      expect(runs).toEqual([expect.objectContaining({ status: 'failed', error: '<b>bad</b> & worse' })]);
      expect((await fetch(`${base}api/runs?limit=0`)).status).toBe(400);
      expect((await fetch(`${base}api/runs?status=weird`)).status).toBe(400);

      expect(await (await fetch(`${base}metrics`)).text()).toMatch(/tip_job_runs_total\{job="broken",status="failed"\} 1/);
      expect(await (await fetch(`${base}healthz`)).text()).toBe('ok\n');
      expect((await fetch(`${base}api/nothing`)).status).toBe(404);
      expect((await fetch(base, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it('renders an empty page and escapes every special character', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    const html = renderStatusPage({ jobs: [], runs: [], now: 0, state: 'started', refreshSeconds: 5 });
    expect(html).toContain('no jobs');
    expect(html).toContain('no runs yet');
  });
});
