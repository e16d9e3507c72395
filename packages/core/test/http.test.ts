import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TipError, TipErrorCodes } from '../src/errors/TipError.js';
import { HttpClient, type ValidatorStore, type Validators } from '../src/http/HttpClient.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A local test server: each test registers its own routes. */
class TestServer {
  readonly routes = new Map<string, Handler>();
  readonly seen: http.IncomingMessage[] = [];
  private readonly server = http.createServer((req, res) => {
    this.seen.push(req);
    const handler = this.routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  base = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  route(path: string, handler: Handler): string {
    this.routes.set(path, handler);
    return this.base + path;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Runs `promise`, expects it to reject with a TipError of `code`, and returns that error. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<TipError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TipError);
  const tipErr = err as TipError;
  expect(tipErr.code, tipErr.message).toBe(code);
  expect(typeof tipErr.details.url).toBe('string');
  expect(tipErr.message).toContain(tipErr.details.url as string);
  return tipErr;
}

function memoryStore(): ValidatorStore & { map: Map<string, Validators> } {
  const map = new Map<string, Validators>();
  return { map, get: (url) => map.get(url), set: (url, v) => void map.set(url, v) };
}

const server = new TestServer();
const other = new TestServer();
const http1 = new HttpClient();

beforeAll(async () => {
  await server.start();
  await other.start();
});

afterAll(async () => {
  await server.stop();
  await other.stop();
});

describe('HttpClient basics', () => {
  it('fetches a plain 200 text body and reports metadata', async () => {
    const url = server.route('/plain', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('\uFEFFhello, feed\n');
    });
    const response = await http1.request(url);
    expect(response.status).toBe(200);
    expect(response.url).toBe(url);
    expect(response.notModified).toBe(false);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.wireBytes).toBe(Buffer.byteLength('\uFEFFhello, feed\n'));
    expect(await http1.text(url)).toBe('hello, feed\n');
    expect((await http1.buffer(url)).toString('utf8')).toBe('\uFEFFhello, feed\n');
  });

  it('sends the default headers and merges custom ones', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const url = server.route('/headers', (req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    const client = new HttpClient({ headers: { 'X-Client': 'a', 'X-Both': 'client' } });
    await client.request(url, { headers: { 'x-both': 'request' } });
    expect(seen['accept-encoding']).toBe('gzip, deflate, br');
    expect(seen['user-agent']).toBe('TIP/0.1 (+https://github.com/tip-project/tip)');
    expect(seen['x-client']).toBe('a');
    expect(seen['x-both']).toBe('request');
    await client.request(url, { userAgent: 'custom/1' });
    expect(seen['user-agent']).toBe('custom/1');
  });

  it('supports HEAD requests', async () => {
    const url = server.route('/head', (req, res) => {
      res.writeHead(200, { 'content-length': '123456789', 'x-method': req.method }).end();
    });
    const response = await http1.request(url, { method: 'HEAD', maxBytes: 10 });
    expect(response.status).toBe(200);
    expect(response.headers['x-method']).toBe('HEAD');
    expect(response.body.length).toBe(0);
  });

  it('parses JSON and reports invalid JSON as HTTP_FAILED naming the url', async () => {
    const url = server.route('/json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [1, 2, 3] }));
    });
    expect(await http1.json<{ items: number[] }>(url)).toEqual({ items: [1, 2, 3] });
    const bad = server.route('/bad-json', (_req, res) => res.end('{"items": [1, 2'));
    const err = await rejectsWith(http1.json(bad), TipErrorCodes.HTTP_FAILED);
    expect(err.details.url).toBe(bad);
  });
});

describe('content encodings', () => {
  const text = 'malicious.example.com\n'.repeat(2000);
  const encodings: Array<[string, string, Buffer]> = [
    ['gzip', 'gzip', zlib.gzipSync(text)],
    ['x-gzip', 'x-gzip', zlib.gzipSync(text)],
    ['deflate (zlib)', 'deflate', zlib.deflateSync(text)],
    ['deflate (raw)', 'deflate', zlib.deflateRawSync(text)],
    ['br', 'br', zlib.brotliCompressSync(text)],
    ['identity', 'identity', Buffer.from(text)],
    ['gzip then br', 'gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
  ];
  for (const [name, header, encoded] of encodings) {
    it(`decodes ${name}`, async () => {
      const url = server.route(`/enc-${name.replace(/\W+/g, '-')}`, (_req, res) => {
        res.writeHead(200, { 'content-encoding': header, 'content-length': encoded.length }).end(encoded);
      });
      const response = await http1.request(url);
      expect(response.body.toString('utf8')).toBe(text);
      expect(response.wireBytes).toBe(encoded.length);
    });
  }

  it('decodes deflate delivered one byte per chunk', async () => {
    const encoded = zlib.deflateRawSync(text);
    const url = server.route('/enc-bytewise', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'deflate' });
      for (const byte of encoded.subarray(0, 4)) res.write(Buffer.from([byte]));
      res.end(encoded.subarray(4));
    });
    expect(await http1.text(url)).toBe(text);
  });

  it('accepts an empty body labelled gzip', async () => {
    const url = server.route('/enc-empty', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': 0 }).end();
    });
    expect((await http1.buffer(url)).length).toBe(0);
  });

  it('rejects an unsupported content-encoding', async () => {
    const url = server.route('/enc-unknown', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'compress' }).end('xx');
    });
    await rejectsWith(http1.request(url), TipErrorCodes.HTTP_FAILED);
  });
});

describe('redirects and statuses', () => {
  it('follows redirects and reports the final url', async () => {
    const final = server.route('/final', (_req, res) => res.end('arrived'));
    server.route('/hop2', (_req, res) => res.writeHead(302, { location: '/final' }).end());
    const start = server.route('/hop1', (_req, res) => res.writeHead(301, { location: `${server.base}/hop2` }).end());
    const response = await http1.request(start);
    expect(response.url).toBe(final);
    expect(response.body.toString()).toBe('arrived');
  });

  it('fails on too many redirects', async () => {
    const loop = server.route('/loop', (_req, res) => res.writeHead(307, { location: '/loop' }).end());
    const err = await rejectsWith(http1.request(loop, { maxRedirects: 3 }), TipErrorCodes.HTTP_FAILED);
    expect(err.message).toMatch(/too many redirects/);
    expect(err.details.limit).toBe(3);
    await rejectsWith(http1.request(loop), TipErrorCodes.HTTP_FAILED);
  });

  it('refuses redirects to non-http protocols', async () => {
    const url = server.route('/to-ftp', (_req, res) => res.writeHead(302, { location: 'ftp://example.org/x' }).end());
    const err = await rejectsWith(http1.request(url), TipErrorCodes.HTTP_FAILED);
    expect(err.details.protocol).toBe('ftp:');
  });

  it('drops credentials when a redirect leaves the origin', async () => {
    let auth: string | undefined = 'unset';
    const target = other.route('/target', (req, res) => {
      auth = req.headers.authorization;
      res.end('ok');
    });
    const url = server.route('/cross', (_req, res) => res.writeHead(302, { location: target }).end());
    await http1.request(url, { headers: { Authorization: 'Bearer secret' } });
    expect(auth).toBeUndefined();
  });

  it('maps a 404 to HTTP_STATUS with the status in details', async () => {
    const url = `${server.base}/missing`;
    const err = await rejectsWith(http1.request(url), TipErrorCodes.HTTP_STATUS);
    expect(err.details.status).toBe(404);
    expect(err.details.url).toBe(url);
  });

  it('honours okStatus', async () => {
    const url = `${server.base}/missing-too`;
    const response = await http1.request(url, { okStatus: (s) => s === 404 });
    expect(response.status).toBe(404);
    expect(response.body.toString()).toBe('not found');
  });
});

describe('network errors', () => {
  it('maps a refused connection to HTTP_FAILED with the cause', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await rejectsWith(http1.request(`http://127.0.0.1:${port}/`), TipErrorCodes.HTTP_FAILED);
    expect(err.details.code).toBe('ECONNREFUSED');
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('rejects bad URLs and unsupported protocols', async () => {
    await rejectsWith(http1.request('not a url'), TipErrorCodes.HTTP_FAILED);
    await rejectsWith(http1.request('file:///etc/passwd'), TipErrorCodes.HTTP_FAILED);
  });

  it('rejects malformed limits', async () => {
    await expect(http1.request(`${server.base}/plain`, { timeout: 'soon' })).rejects.toMatchObject({
      code: TipErrorCodes.CONFIG_INVALID,
    });
    expect(() => new HttpClient({ maxBytes: -1 })).toThrow(TipError);
  });
});

describe('size limits', () => {
  it('fails on a Content-Length over maxBytes without reading the body', async () => {
    const url = server.route('/big-announced', (_req, res) => {
      // Announce a megabyte, send nothing: reading the body would stall until the timeout.
      res.writeHead(200, { 'content-length': 1_000_000 });
      res.flushHeaders();
    });
    const err = await rejectsWith(http1.request(url, { maxBytes: 1000, timeout: '20s' }), TipErrorCodes.HTTP_TOO_LARGE);
    expect(err.details).toMatchObject({ limit: 1000, contentLength: 1_000_000, received: 0 });
  });

  it('fails on a chunked body over maxBytes', async () => {
    const url = server.route('/big-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'a');
      let sent = 0;
      const pump = (): void => {
        while (sent < 4 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
    });
    const err = await rejectsWith(http1.request(url, { maxBytes: 100_000 }), TipErrorCodes.HTTP_TOO_LARGE);
    expect(err.details.limit).toBe(100_000);
    expect(err.details.received as number).toBeGreaterThan(100_000);
  });

  it('stops a gzip bomb as soon as maxBytes is exceeded', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 });
    const url = server.route('/bomb', (_req, res) => {
      res.on('error', () => {});
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
    });
    const maxBytes = 1024 * 1024;
    const err = await rejectsWith(http1.request(url, { maxBytes }), TipErrorCodes.HTTP_TOO_LARGE);
    expect(err.details.stage).toBe('decoded');
    expect(err.details.limit).toBe(maxBytes);
    // Inflation stops right after the limit: at most one more zlib output chunk (16 KiB).
    expect(err.details.received as number).toBeLessThanOrEqual(maxBytes + 64 * 1024);
  });
});

describe('truncation and corruption', () => {
  it('reports a connection dropped before Content-Length bytes as HTTP_TRUNCATED', async () => {
    const url = server.route('/truncated', (_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(10, 'x'), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const err = await rejectsWith(http1.request(url), TipErrorCodes.HTTP_TRUNCATED);
    expect(err.details.contentLength).toBe(1000);
  });

  it('reports a corrupt gzip body as HTTP_TRUNCATED', async () => {
    const good = zlib.gzipSync('a'.repeat(10_000) + 'b'.repeat(10_000));
    const corrupt = Buffer.from(good);
    for (let i = 12; i < corrupt.length - 8; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
    const url = server.route('/corrupt-gzip', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': corrupt.length }).end(corrupt);
    });
    await rejectsWith(http1.request(url), TipErrorCodes.HTTP_TRUNCATED);
  });

  it('reports a gzip stream cut short (complete HTTP message) as HTTP_TRUNCATED', async () => {
    const cut = zlib.gzipSync('c'.repeat(100_000)).subarray(0, 40);
    const url = server.route('/cut-gzip', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(cut);
    });
    await rejectsWith(http1.request(url), TipErrorCodes.HTTP_TRUNCATED);
  });
});

describe('timeouts and abort', () => {
  it('times out a server that never answers', async () => {
    const url = server.route('/silent', () => {});
    const err = await rejectsWith(http1.request(url, { timeout: 200 }), TipErrorCodes.HTTP_TIMEOUT);
    expect(err.details.timeout).toBe(200);
  });

  it('times out a body that stalls midway', async () => {
    const url = server.route('/stall-body', (_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('partial');
    });
    await rejectsWith(http1.request(url, { timeout: '200ms' }), TipErrorCodes.HTTP_TIMEOUT);
  });

  describe('connect timeout', () => {
    // A loopback connect cannot be made slow directly, so we use a listening socket with a full
    // accept queue: a child process listens with backlog 1 and blocks its event loop so it never
    // accepts. Once the queue is full, Linux drops further SYNs and the connect stays pending.
    let child: ChildProcess | undefined;
    let port = 0;
    const fillers: net.Socket[] = [];
    let queueFull = false;

    beforeAll(async () => {
      const script = `
        const s = require('node:net').createServer();
        s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
          process.stdout.write(String(s.address().port) + '\\n');
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        });`;
      child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child!.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(Number(out.trim()));
        });
        child!.once('exit', () => reject(new Error('listener child exited')));
      });
      for (let i = 0; i < 16 && !queueFull; i++) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => {});
        fillers.push(socket);
        const connected = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 300);
          socket.once('connect', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        queueFull = !connected;
      }
    });

    afterAll(() => {
      for (const socket of fillers) socket.destroy();
      child?.kill('SIGKILL');
    });

    it('fails with HTTP_CONNECT_TIMEOUT when the connection is not established in time', async (ctx) => {
      if (!queueFull) ctx.skip(); // the kernel accepted every connection: cannot provoke a slow connect
      const err = await rejectsWith(
        http1.request(`http://127.0.0.1:${port}/`, { connectTimeout: 200, timeout: '20s' }),
        TipErrorCodes.HTTP_CONNECT_TIMEOUT,
      );
      expect(err.details.connectTimeout).toBe(200);
    });
  });

  it('cancels a request when the signal aborts, with the signal reason', async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    const url = server.route('/abort', () => arrived());
    const controller = new AbortController();
    const pending = http1.request(url, { signal: controller.signal });
    await arrival;
    const reason = new Error('stop now');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('uses a TipError when the abort reason is not an Error, and honours the client signal', async () => {
    const url = server.route('/abort-client', () => {});
    const controller = new AbortController();
    const client = new HttpClient({ signal: controller.signal });
    const pending = client.request(url);
    setTimeout(() => controller.abort('shutdown'), 50);
    const err = await rejectsWith(pending, TipErrorCodes.HTTP_FAILED);
    expect(err.message).toMatch(/request aborted/);
    await rejectsWith(client.request(url), TipErrorCodes.HTTP_FAILED); // already aborted
  });
});

describe('conditional requests', () => {
  it('stores validators, sends them back and handles 304', async () => {
    const etag = '"v1"';
    const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
    let conditionalHeaders: http.IncomingHttpHeaders = {};
    const url = server.route('/conditional', (req, res) => {
      conditionalHeaders = req.headers;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res.writeHead(200, { etag, 'last-modified': lastModified }).end('feed v1');
    });
    const store = memoryStore();
    const client = new HttpClient({ validators: store });

    const first = await client.request(url);
    expect(first.body.toString()).toBe('feed v1');
    expect(first.etag).toBe(etag);
    expect(first.lastModified).toBe(lastModified);
    expect(store.map.get(url)).toEqual({ etag, lastModified });
    expect(conditionalHeaders['if-none-match']).toBeUndefined();

    const second = await client.request(url);
    expect(conditionalHeaders['if-none-match']).toBe(etag);
    expect(conditionalHeaders['if-modified-since']).toBe(lastModified);
    expect(second.status).toBe(304);
    expect(second.notModified).toBe(true);
    expect(second.body.length).toBe(0);

    const err = await rejectsWith(client.text(url), TipErrorCodes.HTTP_NOT_MODIFIED);
    expect(err.details.status).toBe(304);

    // conditional: false sends no validators.
    expect(await client.text(url, { conditional: false })).toBe('feed v1');
    expect(conditionalHeaders['if-none-match']).toBeUndefined();
  });

  it('keys validators by the requested url and does not store them when the body fails', async () => {
    const target = server.route('/validated-target', (_req, res) => {
      res.writeHead(200, { etag: '"t"' }).end('data');
    });
    const start = server.route('/validated-start', (_req, res) => res.writeHead(302, { location: target }).end());
    const broken = server.route('/validated-broken', (_req, res) => {
      res.writeHead(200, { etag: '"b"', 'content-length': 100 });
      res.write('x', () => res.socket?.destroy());
    });
    const store = memoryStore();
    const client = new HttpClient({ validators: store });
    await client.request(start);
    expect(store.map.get(start)).toEqual({ etag: '"t"' });
    expect(store.map.has(target)).toBe(false);
    await rejectsWith(client.request(broken), TipErrorCodes.HTTP_TRUNCATED);
    expect(store.map.has(broken)).toBe(false);
  });
});

describe('stream()', () => {
  const chunk = Buffer.alloc(32 * 1024, 'z');
  const url = (): string =>
    server.route('/stream', (_req, res) => {
      res.on('error', () => {});
      res.writeHead(200, { 'content-encoding': 'gzip' });
      const gzip = zlib.createGzip();
      gzip.pipe(res);
      for (let i = 0; i < 32; i++) gzip.write(chunk);
      gzip.end();
    });

  it('yields the body in chunks', async () => {
    const { response, body } = await http1.stream(url());
    expect(response.status).toBe(200);
    let total = 0;
    let chunks = 0;
    for await (const part of body) {
      total += part.length;
      chunks++;
    }
    expect(total).toBe(32 * chunk.length);
    expect(chunks).toBeGreaterThan(1);
    expect(response.wireBytes).toBeGreaterThan(0);
  });

  it('enforces maxBytes while iterating', async () => {
    const { body } = await http1.stream(url(), { maxBytes: 100_000 });
    let total = 0;
    const consume = async (): Promise<void> => {
      for await (const part of body) total += part.length;
    };
    const err = await rejectsWith(consume(), TipErrorCodes.HTTP_TOO_LARGE);
    expect(err.details.stage).toBe('decoded');
    expect(total).toBeLessThanOrEqual(100_000);
  });

  it('can be abandoned early with break', async () => {
    const { body } = await http1.stream(url());
    for await (const part of body) {
      expect(part.length).toBeGreaterThan(0);
      break;
    }
    // The connection was released: the same client keeps working.
    expect((await http1.request(url())).body.length).toBe(32 * chunk.length);
  });

  it('checks the status before resolving', async () => {
    await rejectsWith(http1.stream(`${server.base}/nope`), TipErrorCodes.HTTP_STATUS);
  });
});

describe('logging', () => {
  it('debug-logs each request with method, url, status, bytes and duration', async () => {
    const debug = vi.fn();
    const client = new HttpClient({ log: { debug } as unknown as Logger });
    const url = server.route('/logged', (_req, res) => res.end('12345'));
    await client.request(url);
    expect(debug).toHaveBeenCalledWith(
      expect.objectContaining({ method: 'GET', url, status: 200, bytes: 5, wireBytes: 5, ms: expect.any(Number) }),
      'http request',
    );
    await client.request(`${server.base}/missing`).catch(() => {});
    expect(debug).toHaveBeenLastCalledWith(
      expect.objectContaining({ method: 'GET', url: `${server.base}/missing`, err: expect.stringContaining('404') }),
      'http request failed',
    );
  });
});

describe('resource hygiene', () => {
  it('leaves no timers behind', async () => {
    const url = server.route('/hygiene', (_req, res) => res.end('ok'));
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await http1.request(url, { timeout: '1h', connectTimeout: '1h' });
    await rejectsWith(http1.request(`${server.base}/missing`, { timeout: '1h', connectTimeout: '1h' }), TipErrorCodes.HTTP_STATUS);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(after).toBeLessThanOrEqual(before);
  });
});
