import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDatabase, testDialects } from '@tip/core/testing';
import { BIN, SPAWN_TEST_TIMEOUT, cleanup, fixtureConfig, requireBuild, spawnNode, tempDir, tip, waitForOutput } from './helpers.js';

beforeAll(requireBuild);
afterEach(cleanup);

describe.each(testDialects())('SIGTERM during a transaction that ignores its abort, on %s', (dialect) => {
  it('stops within the drain timeout plus the grace period and records the run as aborted', { timeout: SPAWN_TEST_TIMEOUT }, async () => {
    const db = await tempDatabase(dialect);
    try {
      const dir = tempDir();
      const url = dialect === 'sqlite' ? db.url : db.url;
      const config = fixtureConfig(dir, { database: { url }, scheduler: { drainTimeout: '500ms' }, lifecycle: { hookTimeout: '20s' } }, { stuckTransaction: true });
      const p = spawnNode([BIN, 'run', '-c', config, '--log-format', 'json']);
      await waitForOutput(p, /"msg":"stuck job started"/);
      p.child.kill('SIGTERM');
      // The process exits on its own (no second signal): drain timeout, then the grace period,
      // then the database close cancels what is still in flight.
      expect(await p.exited).toBe(0);
      expect(p.stdout()).toContain('"msg":"TIP stopped"');
      const status = await tip(['status', '--json', '-c', config]);
      expect(status.code, status.stderr).toBe(0);
      const stuck = (JSON.parse(status.stdout) as { jobs: Array<{ id: string; lastRun: { status: string; error?: string } | null }> }).jobs.find((r) => r.id === 'fixture.stuck');
      expect(stuck?.lastRun).toMatchObject({ status: 'aborted' });
    } finally {
      await db.drop();
    }
  });
});
