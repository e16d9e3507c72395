import { describe, expect, it } from 'vitest';
import { startTestTip, testDialects } from '../src/testing/index.js';
import { jobsPlugin } from './helpers.js';

describe.each(testDialects())('smoke on %s', (dialect) => {
  it('starts, runs a job, records history', async () => {
    let ran = 0;
    await using t = await startTestTip({
      database: dialect,
      plugins: [jobsPlugin('p', [{ id: 'hello', run: () => { ran++; return { counts: { n: 1 } }; } }])],
    });
    const rec = await t.app.scheduler.trigger('hello');
    expect(rec.status).toBe('succeeded');
    expect(ran).toBe(1);
    const hist = await t.app.scheduler.history({ jobId: 'hello' });
    expect(hist).toHaveLength(1);
    expect(hist[0]!.counts).toEqual({ n: 1 });
  });
});
