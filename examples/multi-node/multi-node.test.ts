import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '@tip/cli';
import * as core from '@tip/core';
import { tempPostgres, testDialects } from '@tip/core/testing';
import { startMultiNode, type MultiNode } from './start.ts';

// The example needs the pg-boss backend (`PgBossScheduler` in @tip/core) and `tip run --role`;
// until both are in the build it is skipped, naming what is missing.
const missing = [
  ...('PgBossScheduler' in core ? [] : ['the pg-boss scheduler backend (PgBossScheduler)']),
  ...(COMMANDS.find((c) => c.name === 'run')?.options.role ? [] : ['`tip run --role`']),
  ...(testDialects().includes('postgresql') ? [] : ['PostgreSQL (TIP_TEST_DB excludes it)']),
];
const title = missing.length ? `(skipped: needs ${missing.join(', ')})` : '';

/** Polls `check` every 200 ms until it returns a value; throws naming `what` after `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('multi-node example', () => {
  it.skipIf(missing.length > 0)(`2 workers and a web process on one PostgreSQL run the blacklist cycle once ${title}`, async () => {
    const db = await tempPostgres();
    const output: string[] = [];
    let node: MultiNode | undefined;
    const client = new pg.Client({ connectionString: db.url });
    try {
      node = await startMultiNode({ workers: 2, databaseUrl: db.url, http: '127.0.0.1:0', output: (line) => output.push(line) });
      expect(node.processes.map((p) => p.name)).toEqual(['worker-1', 'worker-2', 'web']);
      await client.connect();
      const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => (await client.query<R>(sql, params)).rows;

      // The `blacklist` group's first slot is due at start: one of the workers claims and runs it.
      const cycleId = await waitFor('the first blacklist cycle to succeed', 120_000, async () => {
        const rows = await query<{ id: string; status: string }>(`select id, status from tip_job_run where job_id = 'blacklist' and parent_id is null`);
        const ended = rows.find((r) => r.status !== 'running');
        if (ended && ended.status !== 'succeeded') throw new Error(`blacklist cycle ${ended.id} ended ${ended.status}; output:\n${output.join('\n')}`);
        return ended?.id;
      });
      // Exactly one cycle (interval 10m), each of the 4 feeds run once as its child.
      const cycles = await query<{ n: number }>(`select count(*)::int as n from tip_job_run where job_id = 'blacklist'`);
      expect(cycles[0]!.n).toBe(1);
      const children = await query<{ job_id: string; runs: number; succeeded: number }>(
        `select job_id, count(*)::int as runs, count(*) filter (where status = 'succeeded')::int as succeeded from tip_job_run where parent_id = $1 group by job_id order by job_id`,
        [cycleId],
      );
      expect(children).toEqual(
        ['example-drop', 'example-malware-hosts', 'example-phishing', 'example-scanners'].map((id) => ({ job_id: `blacklist/${id}`, runs: 1, succeeded: 1 })),
      );
      const listings = await query<{ n: number }>(`select count(*)::int as n from bl_listing where removed_at is null`);
      expect(listings[0]!.n).toBeGreaterThan(0);

      // The web process serves the API from the same database.
      const exported = await fetch(`${node.url}/api/blacklist/export?format=plain`);
      expect(exported.status).toBe(200);
      expect(await exported.text()).toContain('45.95.146.7');
    } finally {
      await client.end().catch(() => undefined);
      const codes = await node?.stop();
      await db.drop();
      // Every process stopped cleanly on SIGTERM.
      if (codes) expect(codes.filter((c) => c.code !== 0), output.join('\n')).toEqual([]);
    }
  }, 240_000);
});
