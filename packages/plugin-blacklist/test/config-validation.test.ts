import { describe, expect, it } from 'vitest';
import { createTip, isTipError, TipErrorCodes } from '@tip/core';
import { tempSqlite } from '@tip/core/testing';
import blacklist from '../src/index.js';

/** Starts an app with this blacklist section and returns the error start() fails with. */
async function startError(section: Record<string, unknown>): Promise<{ message: string; code: string }> {
  const db = tempSqlite();
  try {
    const app = await createTip({ config: { database: { url: db.url }, log: { level: 'silent' }, blacklist: section }, plugins: [blacklist()] });
    const err = await app.start().then(
      async () => {
        await app.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    if (!isTipError(err)) throw new Error(`start() should have failed with a TipError, got ${String(err)}`);
    return err;
  } finally {
    await db.drop();
  }
}

const feed = { id: 'f', url: 'http://127.0.0.1:9/x.txt', format: 'plain', category: 'spam' };

describe('blacklist configuration is checked before anything runs', () => {
  it('refuses intervals that are too short, too long or not durations', async () => {
    for (const interval of [0, 5, '5s', '15000000w', 1e308, 'soon']) {
      const err = await startError({ interval, feeds: [feed] });
      expect(err.code, String(interval)).toBe(TipErrorCodes.CONFIG_INVALID);
      expect(err.message).toContain('blacklist.interval');
    }
  });

  it('refuses file: and other non-HTTP feed URLs', async () => {
    const err = await startError({ feeds: [{ ...feed, url: 'file:///etc/passwd' }] });
    expect(err.message).toMatch(/blacklist\.feeds\[0\]\.url: .*http/);
  });

  it('refuses an unknown feed format naming the feed and the known formats', async () => {
    const err = await startError({ feeds: [feed, { ...feed, id: 'g', format: 'yaml' }] });
    expect(err.message).toContain('blacklist.feeds[1].format: feed "g": unknown format "yaml"');
    expect(err.message).toMatch(/known formats: .*plain/);
  });

  it('refuses unknown keys (typos) inside the section', async () => {
    const err = await startError({ intervall: '1h', feeds: [feed], weighting: { windw: '7d' } });
    expect(err.message).toMatch(/- blacklist: .*key.*"intervall"/);
    expect(err.message).toMatch(/- blacklist\.weighting: .*key.*"windw"/);
  });
});

describe('feed credentials', () => {
  it('are not stored with the source', async () => {
    const { startTestTip } = await import('@tip/core/testing');
    const { executeRaw } = await import('@tip/core');
    await using t = await startTestTip({
      plugins: [blacklist()],
      config: { blacklist: { feeds: [{ ...feed, url: 'http://alice:s3cretpw@127.0.0.1:9/list.txt?apikey=SECRETKEY&page=2' }] } },
      start: { schedule: false },
    });
    const { rows } = await executeRaw<{ url: string }>(t.app.em(), 'select url from bl_source');
    expect(rows[0]?.url).toContain('127.0.0.1:9/list.txt');
    expect(rows[0]?.url).toContain('page=2');
    expect(JSON.stringify(rows)).not.toMatch(/s3cretpw|SECRETKEY/);
  });
});
