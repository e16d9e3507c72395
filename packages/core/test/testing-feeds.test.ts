import { Agent, request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { RouterResponse } from '../src/index.js';
import { responseText, serveFeeds, type FeedServer } from '../src/testing/index.js';

// serveFeeds() and responseText() from @tip/core/testing.

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET with node:http on a connection of its own (or through `agent`), with optional request headers. */
function get(url: string, options: { agent?: Agent; headers?: Record<string, string> } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: options.agent ?? false, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveFeeds()', () => {
  it('serves strings and bytes as 200 text/plain on 127.0.0.1, unknown paths as 404, and counts hits', async () => {
    const gz = gzipSync('45.95.146.7\n');
    const feeds = await serveFeeds({ '/ips.txt': '45.95.146.7\n89.248.165.12\n', '/ips.txt.gz': gz });
    try {
      expect(feeds.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(feeds.url('/ips.txt')).toBe(`${feeds.base}/ips.txt`);
      const text = await get(feeds.url('/ips.txt'));
      expect(text.status).toBe(200);
      expect(text.headers['content-type']).toBe('text/plain');
      expect(text.body.toString()).toBe('45.95.146.7\n89.248.165.12\n');
      const bytes = await get(feeds.url('/ips.txt.gz'));
      expect(bytes.status).toBe(200);
      expect(bytes.body.equals(gz)).toBe(true);
      const missing = await get(feeds.url('/nope'));
      expect(missing.status).toBe(404);
      // a query string: the exact URL first, then the path alone
      expect((await get(`${feeds.url('/ips.txt')}?v=2`)).body.toString()).toBe('45.95.146.7\n89.248.165.12\n');
      expect([feeds.hits('/ips.txt'), feeds.hits('/ips.txt.gz'), feeds.hits('/nope'), feeds.hits('/never')]).toEqual([2, 1, 1, 0]);
      expect(() => feeds.url('ips.txt')).toThrow(TypeError);
      expect(() => feeds.set('ips.txt', 'x')).toThrow(/must start with "\/"/);
    } finally {
      await feeds.close();
    }
  });

  it('set replaces or adds an answer, delete removes it; status, headers and If-None-Match', async () => {
    const feeds = await serveFeeds({ '/feed': 'v1\n' });
    try {
      expect((await get(feeds.url('/feed'))).body.toString()).toBe('v1\n');
      feeds.set('/feed', 'v2\n');
      expect((await get(feeds.url('/feed'))).body.toString()).toBe('v2\n');

      feeds.set('/added', { status: 503, headers: { 'Retry-After': '120', 'Content-Type': 'text/html' }, body: '<h1>busy</h1>' });
      const busy = await get(feeds.url('/added'));
      expect(busy.status).toBe(503);
      expect(busy.headers['retry-after']).toBe('120');
      expect(busy.headers['content-type']).toBe('text/html');
      expect(busy.body.toString()).toBe('<h1>busy</h1>');
      feeds.set('/empty', { status: 204 });
      expect(await get(feeds.url('/empty'))).toMatchObject({ status: 204, body: Buffer.alloc(0) });

      // an answer with an etag: 304 for a matching If-None-Match, the body otherwise
      feeds.set('/feed', { body: 'v3\n', headers: { etag: '"v3"' } });
      const first = await get(feeds.url('/feed'));
      expect([first.status, first.headers.etag, first.body.toString()]).toEqual([200, '"v3"', 'v3\n']);
      const again = await get(feeds.url('/feed'), { headers: { 'if-none-match': '"v3"' } });
      expect([again.status, again.headers.etag, again.body.length]).toEqual([304, '"v3"', 0]);
      expect((await get(feeds.url('/feed'), { headers: { 'if-none-match': '"v2"' } })).status).toBe(200);

      expect(feeds.delete('/feed')).toBe(true);
      expect(feeds.delete('/feed')).toBe(false);
      expect((await get(feeds.url('/feed'))).status).toBe(404);
      expect(feeds.hits('/feed')).toBe(6);
    } finally {
      await feeds.close();
    }
  });

  it('a handler answers by itself; a throwing handler is a 500 naming the error', async () => {
    const feeds = await serveFeeds({
      '/chunked': (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-asked': req.headers['x-ask'] ?? '' });
        for (let i = 0; i < 3; i++) res.write(`line ${i}\n`);
        res.end();
      },
      '/throws': () => {
        throw new Error('no such feed today');
      },
      '/rejects': async () => {
        await Promise.resolve();
        throw new Error('later');
      },
    });
    try {
      const chunked = await get(feeds.url('/chunked'), { headers: { 'x-ask': 'yes' } });
      expect(chunked.headers['transfer-encoding']).toBe('chunked');
      expect(chunked.headers['x-asked']).toBe('yes');
      expect(chunked.body.toString()).toBe('line 0\nline 1\nline 2\n');
      const thrown = await get(feeds.url('/throws'));
      expect(thrown.status).toBe(500);
      expect(thrown.body.toString()).toContain('no such feed today');
      const rejected = await get(feeds.url('/rejects'));
      expect(rejected.status).toBe(500);
      expect(rejected.body.toString()).toContain('later');
    } finally {
      await feeds.close();
    }
  });

  it('close() does not wait for keep-alive connections or requests a handler never answers', async () => {
    const feeds = await serveFeeds({ '/a.txt': 'a\n', '/stalls': () => undefined });
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      expect((await get(feeds.url('/a.txt'), { agent })).body.toString()).toBe('a\n');
      // the socket stays open in the agent's pool, and another request waits for an answer that never comes
      while (Object.values(agent.freeSockets).flat().length === 0) await new Promise((r) => setImmediate(r));
      const stalled = get(feeds.url('/stalls')).then(
        () => 'answered',
        (e: NodeJS.ErrnoException) => e.code,
      );
      while (feeds.hits('/stalls') === 0) await new Promise((r) => setImmediate(r));
      await feeds.close();
      expect(await stalled).toBe('ECONNRESET');
      // closed: a new request is refused; close() again is harmless
      await expect(get(feeds.url('/a.txt'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await feeds.close();
    } finally {
      agent.destroy();
    }
  });

  it('`await using` closes the server at the end of the block', async () => {
    let outer: FeedServer | undefined;
    {
      await using feeds = await serveFeeds({ '/x': 'x' });
      outer = feeds;
      expect((await get(feeds.url('/x'))).body.toString()).toBe('x');
    }
    await expect(get(outer.url('/x'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('responseText()', () => {
  const response = (body: RouterResponse['body']): RouterResponse => ({ status: 200, headers: {}, body });

  it('reads a string, bytes or a stream of chunks as text', async () => {
    expect(await responseText(undefined)).toBe('');
    expect(await responseText(response(undefined))).toBe('');
    expect(await responseText(response('plain ✓'))).toBe('plain ✓');
    expect(await responseText(response(new TextEncoder().encode('bytes ✓')))).toBe('bytes ✓');
    // a character split across two byte chunks, mixed with string chunks
    const check = new TextEncoder().encode('✓');
    async function* chunks() {
      yield 'a,';
      yield check.subarray(0, 1);
      yield check.subarray(1);
      yield ',b\n';
      yield new TextEncoder().encode('c');
    }
    expect(await responseText(response(chunks()))).toBe('a,✓,b\nc');
  });
});
