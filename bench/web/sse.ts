// Benchmark: delivery delay of live events to many SSE clients, TIP's `GET /api/web/stream` against
// a raw baseline measured in the same run: a bare node:http SSE server writing the same frames to
// the same number of clients (no database, no filters, no queues).
//   - raw:          node:http server, each event written to every client as it is emitted
//   - TIP (local):  the event is emitted in the app serving the stream: recorded in the SQLite event
//                   log (batched insert), the process's poller wakes at once and fans it out
//   - TIP (remote): the event is emitted by a second app on the same database (a "worker"); the
//                   serving app finds it at its next poll (`pollInterval`, here 100ms)
// Clients are raw node:http requests in a child process (default; `--inproc` runs them in this
// process, sharing the server's event loop), the same for every variant. Delay = receipt time - emit
// time (wall clock, performance.timeOrigin + now() on both sides), per (client, event).
// Usage: node bench/web/sse.ts [--clients 1000] [--events 200] [--interval 50] [--poll 100] [--inproc]
import { mkdtempSync, rmSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createTip, RouteRouter, type TipApp } from '@tip/core';
import { SseParser, streamPlugin } from '../../packages/web/test/stream-common.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    events: { type: 'string', default: '200' },
    interval: { type: 'string', default: '50' },
    poll: { type: 'string', default: '100' },
    inproc: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});
const CLIENTS = Number(values.clients);
const EVENTS = Number(values.events);
const INTERVAL = Number(values.interval);
const POLL = Number(values.poll);
const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wall = () => performance.timeOrigin + performance.now();
const payload = (i: number) => ({ source: `feed-${i % 7}`, added: 20, removed: 3, sampleAdded: Array.from({ length: 20 }, (_, k) => `198.51.100.${k}`), sampleRemoved: ['203.0.113.1', '203.0.113.2', '203.0.113.3'], t: wall(), i });

interface Collector {
  delays: number[];
  received: number;
}

/** Opens `n` SSE clients on `url`; each records now - data.t for every message. Resolves once all saw their first bytes. */
async function connect(url: string, n: number, c: Collector): Promise<() => void> {
  const reqs: Array<{ destroy(): void }> = [];
  const pending: Array<Promise<void>> = [];
  for (let k = 0; k < n; k++) {
    pending.push(
      new Promise<void>((resolve, reject) => {
        const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
          res.setEncoding('utf8');
          const parser = new SseParser();
          let first = true;
          res.on('data', (chunk: string) => {
            if (first) {
              first = false;
              resolve();
            }
            for (const message of parser.push(chunk)) {
              const now = wall();
              const m = /"t":([0-9.]+)/.exec(message.data);
              if (m) {
                c.delays.push(now - Number(m[1]));
                c.received++;
              }
            }
          });
        });
        req.on('error', reject);
        req.end();
        reqs.push(req);
      }),
    );
    if (k % 100 === 99) await sleep(5); // do not overflow the listen backlog
  }
  await Promise.all(pending);
  return () => reqs.forEach((r) => r.destroy());
}

/** Clients somewhere: `received()` so far, then their delays. */
interface Clients {
  received(): Promise<number>;
  finish(): Promise<Collector>;
}

async function clientsInProcess(url: string): Promise<Clients> {
  const c: Collector = { delays: [], received: 0 };
  const stop = await connect(url, CLIENTS, c);
  return {
    received: async () => c.received,
    finish: async () => {
      stop();
      return c;
    },
  };
}

async function clientsInChild(url: string): Promise<Clients> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--child', url, '--clients', String(CLIENTS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: Array<(m: { kind: string; value: unknown }) => void> = [];
  child.on('message', (m) => replies.shift()?.(m as { kind: string; value: unknown }));
  const ask = (kind: string) =>
    new Promise<{ kind: string; value: unknown }>((resolve) => {
      replies.push(resolve);
      if (kind !== 'ready') child.send(kind);
    });
  await ask('ready');
  return {
    received: async () => (await ask('count')).value as number,
    finish: async () => {
      const value = (await ask('finish')).value as Collector;
      child.kill();
      return value;
    },
  };
}

if (values.child) {
  // the child: connect, report counts on request, then the delays
  const c: Collector = { delays: [], received: 0 };
  const stop = await connect(values.child, CLIENTS, c);
  process.send!({ kind: 'ready', value: null });
  process.on('message', (m) => {
    if (m === 'count') process.send!({ kind: 'count', value: c.received });
    else if (m === 'finish') {
      stop();
      process.send!({ kind: 'finish', value: c });
    }
  });
  await new Promise(() => {});
}

const openClients = (url: string) => (values.inproc ? clientsInProcess(url) : clientsInChild(url));

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', 4096, r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server) {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

/** Emits EVENTS events every INTERVAL ms and waits until every client got every event (or 30s passed). */
async function drive(emit: (i: number) => unknown, clients: Clients): Promise<Collector> {
  for (let i = 0; i < EVENTS; i++) {
    emit(i);
    await sleep(INTERVAL);
  }
  const until = performance.now() + 30_000;
  while ((await clients.received()) < EVENTS * CLIENTS && performance.now() < until) await sleep(50);
  return clients.finish();
}

async function raw(): Promise<Collector> {
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  const url = await listen(server);
  const clients = await openClients(`${url}/`);
  let seq = 0;
  const c = await drive((i) => {
    const json = JSON.stringify({ seq: ++seq, type: 'blacklist.listings.changed', at: new Date().toISOString(), data: payload(i) });
    const frame = `id: ${seq}\nevent: blacklist.listings.changed\ndata: ${json}\n\n`;
    for (const res of open) res.write(frame);
  }, clients);
  await closeServer(server);
  return c;
}

async function tip(remote: boolean): Promise<Collector> {
  const dir = mkdtempSync(join(tmpdir(), 'tip-bench-sse-'));
  const config = { database: { url: `sqlite:${join(dir, 'tip.sqlite')}` }, scheduler: { enabled: false }, web: { stream: { pollInterval: POLL, maxClients: CLIENTS + 10 } } };
  const app = await createTip({ config, plugins: [streamPlugin()], logger: silent });
  await app.start({ schedule: false });
  let worker: TipApp | undefined;
  if (remote) {
    worker = await createTip({ config, plugins: [streamPlugin()], logger: silent });
    await worker.start({ schedule: false, role: 'worker' });
  }
  const router = new RouteRouter(app.routes('/api'), { log: silent });
  const server = createServer((req, res) => void router.handleNode(req, res));
  const url = await listen(server);
  const clients = await openClients(`${url}/api/web/stream`);
  const emitter = worker ?? app;
  const c = await drive((i) => (emitter.events.emit as (e: string, p: unknown) => Promise<void>)('blacklist.listings.changed', payload(i)), clients);
  await closeServer(server);
  await worker?.stop();
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
  return c;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
function stats(c: Collector) {
  const s = Float64Array.from(c.delays).sort();
  return { p50: pct([...s], 50), p99: pct([...s], 99), max: s[s.length - 1] ?? NaN, complete: c.received / (EVENTS * CLIENTS) };
}

const results: Array<{ name: string; s: ReturnType<typeof stats> }> = [];
results.push({ name: 'raw node:http SSE', s: stats(await raw()) });
await sleep(500);
results.push({ name: 'TIP stream (local)', s: stats(await tip(false)) });
await sleep(500);
results.push({ name: `TIP stream (remote, poll ${POLL}ms)`, s: stats(await tip(true)) });

const base = results[0]!.s;
const pad = (s: string, n: number): string => s.padStart(n);
const ms = (v: number) => v.toFixed(2);
const ratio = (v: number, b: number) => (b > 0 ? `${(v / b).toFixed(2)}×` : '–');
console.log(`\nbench/web/sse: ${CLIENTS.toLocaleString('en')} SSE clients, ${EVENTS} events every ${INTERVAL}ms (${(EVENTS * CLIENTS).toLocaleString('en')} deliveries per variant), clients in ${values.inproc ? 'this process' : 'a child process'} (Node ${process.version}, ${availableParallelism()} CPUs)\n`);
console.log(`${'variant'.padEnd(32)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}${pad('received', 10)}${pad('p50 ÷ raw', 11)}${pad('p99 ÷ raw', 11)}`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(32)}${pad(ms(r.s.p50), 9)}${pad(ms(r.s.p99), 9)}${pad(ms(r.s.max), 9)}${pad(`${(r.s.complete * 100).toFixed(1)}%`, 10)}${pad(ratio(r.s.p50, base.p50), 11)}${pad(ratio(r.s.p99, base.p99), 11)}`,
  );
}
console.log('\n(remote: the event is recorded by a second app on the same SQLite file; its delay includes waiting for the next poll, ~pollInterval/2 on average)');
process.exit(0);
