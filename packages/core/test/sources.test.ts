import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSource, defineSourceKind, definePlugin, every, TipErrorCodes } from '../src/index.js';
import { SourceStateEntity } from '../src/database/entities.js';
import { serveFeeds, startTestTip, testDialects, type FeedServer } from '../src/testing/index.js';

let server: FeedServer;
let base = '';
let body = 'a\nb\nc\n';
const etag = '"v1"';
const requests: Array<{ url: string; ifNoneMatch?: string }> = [];

beforeAll(async () => {
  server = await serveFeeds({
    '/feed': (req, res) => {
      requests.push({ url: req.url ?? '', ifNoneMatch: req.headers['if-none-match'] as string | undefined });
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
      res.writeHead(200, { etag, 'content-type': 'text/plain' }).end(body);
    },
    '/broken': { status: 500, body: 'oops' },
  });
  base = server.base;
});
afterAll(() => server.close());

/** An in-memory "store" that commits a whole run or nothing, like a real ingester must. */
function linesPlugin(store: Map<string, string[]>, opts: { failIngest?: () => boolean } = {}) {
  return definePlugin({
    name: 'lines',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      ctx.sourceKinds.add(
        defineSourceKind<string>({
          kind: 'lines',
          async ingest({ source, batches }) {
            const staged: string[] = [];
            for await (const batch of batches) staged.push(...batch);
            if (opts.failIngest?.()) throw new Error('disk full');
            store.set(source.id, staged);
            return { counts: { records: staged.length } };
          },
        }),
      );
      for (const path of ['/feed', '/broken']) {
        ctx.sources.add(
          defineSource<string>({
            id: `src${path.replace('/', '-')}`,
            kind: 'lines',
            async *fetch(run) {
              const text = await run.http.text(`${base}${path}`);
              yield text.split('\n').filter(Boolean);
            },
          }),
        );
      }
      ctx.sources.add(defineSource({ id: 'scheduled', kind: 'lines', schedule: every('1h'), async *fetch() { yield ['x']; } }));
      ctx.sources.add(defineSource({ id: 'orphan', kind: 'nobody.ingests.this', async *fetch() { yield []; } }));
    },
    init(ctx) {
      ctx.scheduler.add({ id: 'lines', children: () => ctx.sourceRunner.list(['lines']).filter((s) => !s.schedule).map((s) => ctx.sourceRunner.job(s, { id: `lines/${s.id}` })) }, 'lines');
      ctx.scheduler.add(ctx.sourceRunner.job(ctx.sourceRunner.get('orphan')!), 'lines');
    },
  });
}

describe.each(testDialects())('sources on %s', (dialect) => {
  it('fetches, ingests, remembers the ETag only after a successful commit, and 304s cheaply', async () => {
    const store = new Map<string, string[]>();
    let fail = true;
    await using t = await startTestTip({ database: dialect, plugins: [linesPlugin(store, { failIngest: () => fail })] });
    requests.length = 0;
    body = 'a\nb\nc\n';

    // 1) ingestion fails after a 200: nothing stored, validator NOT remembered
    let group = await t.app.scheduler.trigger('lines');
    expect(group.status).toBe('failed');
    expect(store.size).toBe(0);
    expect(await t.app.em().count(SourceStateEntity, {})).toBe(0);

    // 2) success: data committed, ETag stored with the source
    fail = false;
    requests.length = 0;
    group = await t.app.scheduler.trigger('lines');
    expect(group.status).toBe('partial'); // src-broken answers 500
    expect(requests.find((r) => r.url === '/feed')!.ifNoneMatch).toBeUndefined();
    expect(store.get('src-feed')).toEqual(['a', 'b', 'c']);
    const state = await t.app.em().find(SourceStateEntity, { sourceId: 'src-feed' });
    expect(state.map((s) => [s.key, s.value])).toEqual([[`http:${base}/feed`, { etag: '"v1"' }]]);
    const children = await t.app.scheduler.history({ parentId: group.id });
    expect(children.find((c) => c.jobId === 'lines/src-feed')!.counts).toEqual({ records: 3 });
    const broken = children.find((c) => c.jobId === 'lines/src-broken')!;
    expect(broken.status).toBe('failed');
    expect(broken.error).toContain(TipErrorCodes.HTTP_STATUS);

    // 3) unchanged feed: conditional request, 304, previous data kept
    requests.length = 0;
    store.set('src-feed', ['kept']);
    group = await t.app.scheduler.trigger('lines');
    expect(requests.find((r) => r.url === '/feed')!.ifNoneMatch).toBe('"v1"');
    expect(store.get('src-feed')).toEqual(['kept']);
    const again = await t.app.scheduler.history({ parentId: group.id });
    expect(again.find((c) => c.jobId === 'lines/src-feed')!.counts).toEqual({ notModified: 1 });

    // 4) a source with its own schedule runs as job source/<id>
    expect(t.app.scheduler.jobs().map((j) => j.id)).toContain('source/scheduled');

    // 5) no plugin ingests the kind: a clear error naming source and kind
    const orphan = await t.app.scheduler.trigger('source/orphan');
    expect(orphan.status).toBe('failed');
    expect(orphan.error).toContain('TIP_SOURCE_KIND_UNKNOWN');
    expect(orphan.error).toContain('"orphan"');
    expect(orphan.error).toContain('nobody.ingests.this');
  });
});
