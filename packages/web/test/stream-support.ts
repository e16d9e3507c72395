import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { RouteRouter, type RouteScope, type TipApp } from '@tip/core';
import { startTestTip, type TestDatabase, type TestTip } from '@tip/core/testing';
import { SseParser, streamPlugin, type SseMessage } from './stream-common.js';

export { streamPlugin, type SseMessage } from './stream-common.js';

/**
 * Closes what a test file's tests open, newest first, after each test (call once at the top of the
 * file): `track(x)` registers `x` and returns it; `closeAll()` closes them now (before dropping a
 * database they use).
 */
export function closeAfterEach(): { track: <T extends { close(): unknown }>(o: T) => T; closeAll: () => Promise<void> } {
  const open: Array<{ close(): unknown }> = [];
  const closeAll = async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  };
  afterEach(closeAll);
  return {
    track: (o) => {
      open.push(o);
      return o;
    },
    closeAll,
  };
}

/** A test app with the stream plugin (real clock) served over node:http by core's RouteRouter. */
export interface StreamTestApp {
  tip: TestTip;
  app: TipApp;
  url: string;
  close(): Promise<void>;
}

/** Starts an app with the stream and serves `/api` on a free port; `x-test-scopes: read` narrows the caller. */
export async function startStreamApp(opts: {
  database: 'sqlite' | 'postgresql' | TestDatabase;
  stream?: Record<string, unknown>;
  mode?: 'run' | 'serve';
  role?: 'all' | 'worker' | 'web';
}): Promise<StreamTestApp> {
  const tip = await startTestTip({
    database: opts.database,
    clock: 'system',
    plugins: [streamPlugin()],
    config: { web: { stream: { pollInterval: '20ms', ...opts.stream } } },
    start: { schedule: false, mode: opts.mode ?? 'run', role: opts.role },
  });
  const router = new RouteRouter(tip.app.routes('/api'), { log: pino({ level: 'silent' }) });
  const server: Server = createServer((req, res) => {
    const scopes = req.headers['x-test-scopes'];
    const principal = typeof scopes === 'string' ? { id: 'test', scopes: scopes.split(',') as RouteScope[] } : undefined;
    void router.handleNode(req, res, principal).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    tip,
    app: tip.app,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await tip.close();
    },
  };
}

/** A raw SSE client over node:http that parses messages as they arrive. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  ended = false;
  res: IncomingMessage | undefined;
  #parser = new SseParser();
  #waiters: Array<() => void> = [];
  #closeReq: () => void = () => {};

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.#feed(chunk));
        res.on('end', () => c.#end());
        res.on('error', () => c.#end());
        res.on('close', () => c.#end());
        resolve();
      });
      req.on('error', reject);
      c.#closeReq = () => req.destroy();
      req.end();
    });
    return c;
  }

  #end(): void {
    this.ended = true;
    this.#notify();
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #feed(chunk: string): void {
    this.messages.push(...this.#parser.push(chunk, (c) => this.comments.push(c)));
    this.#notify();
  }

  /** Parsed `data` of every message. */
  get events(): Array<{ seq: number; type: string; at: string; data: Record<string, unknown> }> {
    return this.messages.map((m) => JSON.parse(m.data) as { seq: number; type: string; at: string; data: Record<string, unknown> });
  }

  /** Waits until `check` holds (generous deadline, no timing assertion). */
  async until(check: (c: SseClient) => boolean, what: string, deadlineMs = 20_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!check(this)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (have ${this.messages.length} messages, ended=${this.ended})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.#closeReq();
    this.res?.destroy();
  }
}

/** Polls until `check` holds. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** JSON over HTTP (admin scope unless `scopes`). */
export async function api<T = unknown>(base: string, method: string, path: string, body?: unknown, scopes?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}/api/web${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(scopes ? { 'x-test-scopes': scopes } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Emits an event by name, whether or not TipEvents declares it. */
export function emit(app: TipApp, type: string, payload: unknown): Promise<void> {
  return (app.events.emit as (e: string, p: unknown) => Promise<void>)(type, payload);
}
