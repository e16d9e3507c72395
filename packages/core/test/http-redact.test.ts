import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, TipError, TipErrorCodes, type HttpRequestOptions } from '../src/index.js';

const PASSWORD = 's3cretpw';
const API_KEY = 'SECRETKEY';

/** A pino logger at debug level whose output is kept in memory. */
function captureLog(): { log: pino.Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), text: () => lines.join('') };
}

let server: http.Server;
let port = 0;
const secretUrl = (path = '/x'): string => `http://user:${PASSWORD}@127.0.0.1:${port}${path}?apikey=${API_KEY}&page=2`;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/silent') return; // never answers
    if (path === '/loop') {
      res.writeHead(302, { location: `http://user:${PASSWORD}@127.0.0.1:${port}/loop?apikey=${API_KEY}&page=2` }).end();
      return;
    }
    if (path === '/relative-loop') {
      res.writeHead(302, { location: `/relative-loop?token=${API_KEY}&page=2` }).end();
      return;
    }
    if (path === '/big') {
      res.writeHead(200, { 'content-length': 10_000 }).end(Buffer.alloc(10_000));
      return;
    }
    if (path === '/chunked') {
      res.writeHead(200);
      res.end(Buffer.alloc(10_000));
      return;
    }
    if (path === '/truncated') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x', () => res.socket?.destroy());
      return;
    }
    if (path === '/bad-json') {
      res.end('{');
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

/** Fails the request, then checks that message, details and log hide the secrets but not the rest. */
async function expectRedacted(
  call: (client: HttpClient) => Promise<unknown>,
  code: string,
  shows: { port?: number; path: string; logLine?: string | null },
): Promise<TipError> {
  const { log, text } = captureLog();
  const client = new HttpClient({ log });
  const err = await call(client).then(
    () => {
      throw new Error(`expected ${code}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TipError);
  const tipErr = err as TipError;
  expect(tipErr.code, tipErr.message).toBe(code);
  const json = JSON.stringify(tipErr);
  const logged = text();
  // A malformed option fails before the request starts: nothing is logged then.
  const logLine = shows.logLine === undefined ? 'http request failed' : shows.logLine;
  const outputs: Array<[string, string]> = [['message', tipErr.message], ['details', json]];
  if (logLine === null) expect(logged).toBe('');
  else {
    expect(logged).toContain(`"msg":"${logLine}"`);
    outputs.push(['log', logged]);
  }
  for (const [where, shown] of outputs) {
    expect(shown, where).not.toContain(PASSWORD);
    expect(shown, where).not.toContain(API_KEY);
    expect(shown, where).toContain(`127.0.0.1:${shows.port ?? port}${shows.path}`);
    expect(shown, where).toContain('page=2');
  }
  expect(tipErr.message).toContain('user:***@');
  expect(JSON.stringify(tipErr.details)).toContain('apikey=***');
  return tipErr;
}

describe('HTTP errors never show credentials', () => {
  const cases: Array<[string, string, string, HttpRequestOptions, (string | null)?]> = [
    ['a 404 status', '/missing', TipErrorCodes.HTTP_STATUS, {}],
    ['a timeout', '/silent', TipErrorCodes.HTTP_TIMEOUT, { timeout: 200 }],
    ['an announced body too large', '/big', TipErrorCodes.HTTP_TOO_LARGE, { maxBytes: 100 }],
    ['a streamed body too large', '/chunked', TipErrorCodes.HTTP_TOO_LARGE, { maxBytes: 100 }],
    ['a truncated body', '/truncated', TipErrorCodes.HTTP_TRUNCATED, {}],
    ['a redirect loop', '/loop', TipErrorCodes.HTTP_FAILED, { maxRedirects: 2 }],
    ['a malformed option', '/x', TipErrorCodes.CONFIG_INVALID, { timeout: 'soon' }, null],
  ];
  for (const [name, path, code, options, logLine] of cases) {
    it(`on ${name}`, async () => {
      await expectRedacted((client) => client.request(secretUrl(path), options), code, { path, logLine });
    });
  }

  it('on a redirect loop through a relative Location carrying a token', async () => {
    const err = await expectRedacted((c) => c.request(secretUrl('/relative-loop'), { maxRedirects: 1 }), TipErrorCodes.HTTP_FAILED, {
      path: '/relative-loop',
    });
    expect(err.details.location).toBe('/relative-loop?token=***&page=2');
  });

  it('on a refused connection', async () => {
    const refused = await closedPort();
    const url = `http://user:${PASSWORD}@127.0.0.1:${refused}/x?apikey=${API_KEY}&page=2`;
    const err = await expectRedacted((c) => c.request(url), TipErrorCodes.HTTP_FAILED, { port: refused, path: '/x' });
    expect(err.details.code).toBe('ECONNREFUSED');
  });

  it('on invalid JSON and on a bad URL', async () => {
    await expectRedacted((c) => c.json(secretUrl('/bad-json')), TipErrorCodes.HTTP_FAILED, {
      path: '/bad-json',
      logLine: 'http request',
    });
    const bad = `http://user:${PASSWORD}@127.0.0.1:${port}/x y?apikey=${API_KEY}&page=2`.replace('127.0.0.1', '[127.0.0.1');
    const { log } = captureLog();
    const err = await new HttpClient({ log }).request(bad).then(
      () => {
        throw new Error('expected TIP_HTTP_FAILED');
      },
      (e: unknown) => e as TipError,
    );
    expect(JSON.stringify(err) + err.message).not.toMatch(new RegExp(`${PASSWORD}|${API_KEY}`));
    // The cause (Node's TypeError) carries the input too: redacted in place.
    expect(JSON.stringify(err.cause)).not.toMatch(new RegExp(`${PASSWORD}|${API_KEY}`));
  });

  it('keeps the real URL in the response itself', async () => {
    const response = await new HttpClient().request(secretUrl('/missing'), { okStatus: () => true });
    expect(response.url).toBe(secretUrl('/missing'));
  });
});
