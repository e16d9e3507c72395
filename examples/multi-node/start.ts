#!/usr/bin/env node
// The multi-node example on one machine: a local feed server, N TIP worker processes
// (`tip run --role worker`) and one web process (`tip run --role web --http …`), all sharing one
// PostgreSQL database through the pg-boss scheduler backend. Needs the build (`./dev build`).
//
//   node examples/multi-node/start.ts [--workers 2] [--database <postgres url>] [--http 127.0.0.1:8080]
//     --workers   worker processes (default 2)
//     --database  PostgreSQL database URL; created when missing
//                 (default $MULTI_NODE_DATABASE_URL or postgres://postgres@127.0.0.1:5432/tip_multi_node)
//     --http      where the web process serves the status page, API and /metrics (default 127.0.0.1:8080; port 0: any free port)
//     --worker-http-port <p>  worker i also serves its own /healthz and /metrics on 127.0.0.1:<p + i - 1> (default: none)
// Ctrl-C (or SIGTERM) sends SIGTERM to every process and waits for them: workers drain their
// running jobs (scheduler.drainTimeout) and hand the rest back to pg-boss.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serveFeeds, type FeedServer } from '@tip/core/testing';

const here = fileURLToPath(new URL('.', import.meta.url));
const cliBin = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
/** The config every process reads. */
export const CONFIG_FILE: string = join(here, 'tip.config.ts');
/** The line `tip run` prints once started: `TIP worker <id> running (role worker): takes jobs; …`. */
const RUNNING = /^TIP .*\brunning\b/;
const FEED_FILES = ['drop.txt', 'scanners.txt', 'malware-hosts.txt', 'phishing-urls.txt'];

/** Options of {@link startMultiNode}. */
export interface MultiNodeOptions {
  /** Worker processes to start (default 2). */
  workers?: number;
  /** The PostgreSQL database every process uses (created when missing). */
  databaseUrl: string;
  /** `host:port` of the web process (default `127.0.0.1:8080`; port 0 picks a free one). */
  http?: string;
  /** When set, worker i serves its `/healthz` and `/metrics` on `127.0.0.1:<workerHttpPort + i - 1>` (0: any free port each). */
  workerHttpPort?: number;
  /** Receives every output line of the processes, prefixed with the process name (default: stdout). */
  output?: (line: string) => void;
  /** Longest wait for one process to say it is running (default 60 s). */
  startTimeoutMs?: number;
}

/** One process of the deployment. */
export interface NodeProcess {
  /** `worker-1` … `worker-N` or `web`. */
  name: string;
  /** Its pid. */
  pid: number;
  /** The child process. */
  child: ChildProcess;
}

/** A started deployment from {@link startMultiNode}. */
export interface MultiNode {
  /** The web process's URL (`http://127.0.0.1:8080`). */
  url: string;
  /** The local feed server the blacklist plugin fetches from. */
  feeds: FeedServer;
  /** The worker processes, then the web process. */
  processes: NodeProcess[];
  /** SIGTERM to every process, waits until each exited (SIGKILL after `graceMs`, default 60 s), stops the feed server; resolves with each process's exit code. */
  stop(graceMs?: number): Promise<Array<{ name: string; code: number | null; signal: NodeJS.Signals | null }>>;
}

/**
 * Starts the feed server, migrates the database once (`tip migrate --create`), then the workers and
 * the web process, each a `tip run` with {@link CONFIG_FILE}; resolves once every process said it
 * is running. On any failure everything started so far is stopped and the error names the process
 * and quotes its output.
 */
export async function startMultiNode(options: MultiNodeOptions): Promise<MultiNode> {
  if (!existsSync(cliBin)) throw new Error('multi-node: the tip CLI is not built yet: run ./dev build (or node_modules/.bin/tsc -b) first');
  const output = options.output ?? ((line: string) => console.log(line));
  const workers = options.workers ?? 2;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const feeds = await serveFeeds(Object.fromEntries(FEED_FILES.map((f) => [`/feeds/${f}`, readFileSync(join(here, 'feeds', f), 'utf8')])));
  const env = { ...process.env, MULTI_NODE_DATABASE_URL: options.databaseUrl, MULTI_NODE_FEEDS: feeds.base };
  const processes: NodeProcess[] = [];

  /** Spawns `tip <args>`; resolves with the first stdout line matching `ready` (or on exit 0 when `ready` is undefined). */
  const tip = (name: string, args: string[], ready?: RegExp): Promise<{ proc: NodeProcess; line: string }> => {
    // detached: its own process group, so a terminal's Ctrl-C reaches only this script, which then
    // sends one SIGTERM (a second signal would make `tip run` exit without draining).
    const child = spawn(process.execPath, [cliBin, ...args, '-c', CONFIG_FILE, '--log-format', 'pretty'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const proc: NodeProcess = { name, pid: child.pid ?? -1, child };
    if (ready) processes.push(proc);
    const seen: string[] = [];
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new Error(`multi-node: ${name} (pid ${proc.pid}) ${why}; its output:\n${seen.join('\n')}`));
      const timer = setTimeout(() => {
        if (!ready) child.kill('SIGKILL'); // the others are stopped with `processes`
        fail(`did not finish starting within ${startTimeoutMs / 1000}s`);
      }, startTimeoutMs);
      const onLine = (line: string) => {
        seen.push(line);
        output(`[${name}] ${line}`);
        if (ready?.test(line)) {
          clearTimeout(timer);
          resolve({ proc, line });
        }
      };
      for (const stream of [child.stdout!, child.stderr!]) {
        let rest = '';
        stream.on('data', (chunk: Buffer) => {
          const lines = (rest + chunk.toString()).split('\n');
          rest = lines.pop() ?? '';
          for (const l of lines) onLine(l);
        });
      }
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready && code === 0) resolve({ proc, line: '' });
        else fail(`exited (code ${code}, signal ${signal}) before it was running`);
      });
    });
  };

  const stop: MultiNode['stop'] = async (graceMs = 60_000) => {
    const codes = await Promise.all(
      processes.map(
        ({ name, child }) =>
          new Promise<{ name: string; code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve({ name, code: child.exitCode, signal: child.signalCode });
            const kill = setTimeout(() => {
              output(`[start] ${name} (pid ${child.pid}) still running ${graceMs / 1000}s after SIGTERM: SIGKILL`);
              child.kill('SIGKILL');
            }, graceMs);
            child.once('exit', (code, signal) => {
              clearTimeout(kill);
              resolve({ name, code, signal });
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await feeds.close();
    return codes;
  };

  try {
    // Migrate once before starting the processes, so they do not all race to create the database.
    await tip('migrate', ['migrate', '--create']);
    const started = await Promise.all([
      ...Array.from({ length: workers }, (_, i) => {
        const port = options.workerHttpPort;
        const http = port === undefined ? [] : ['--http', `127.0.0.1:${port === 0 ? 0 : port + i}`];
        return tip(`worker-${i + 1}`, ['run', '--role', 'worker', ...http], RUNNING);
      }),
      tip('web', ['run', '--role', 'web', '--http', options.http ?? '127.0.0.1:8080'], /^TIP .*\brunning\b.*\bhttps?:\/\//),
    ]);
    const url = /\bhttps?:\/\/[^\s/]+/.exec(started[started.length - 1]!.line)![0];
    return { url, feeds, processes, stop };
  } catch (err) {
    await stop(10_000);
    throw err;
  }
}

// Run as a script (not when imported by the test).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2' },
      database: { type: 'string' },
      http: { type: 'string', default: '127.0.0.1:8080' },
      'worker-http-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: node examples/multi-node/start.ts [--workers 2] [--database <postgres url>] [--http 127.0.0.1:8080] [--worker-http-port <first port>]');
    process.exit(0);
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(`multi-node: --workers must be a positive integer (got "${values.workers}")`);
    process.exit(2);
  }
  const workerHttpPort = values['worker-http-port'] === undefined ? undefined : Number(values['worker-http-port']);
  if (workerHttpPort !== undefined && !(Number.isInteger(workerHttpPort) && workerHttpPort >= 0 && workerHttpPort + workers <= 65536)) {
    console.error(`multi-node: --worker-http-port must be a port number (got "${values['worker-http-port']}")`);
    process.exit(2);
  }
  const databaseUrl = values.database ?? process.env.MULTI_NODE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tip_multi_node';
  let node: MultiNode;
  try {
    node = await startMultiNode({ workers, databaseUrl, http: values.http, workerHttpPort });
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  console.log(`multi-node: feeds at ${node.feeds.base}`);
  for (const p of node.processes) console.log(`multi-node: ${p.name} pid ${p.pid}`);
  console.log(`multi-node: web at ${node.url}; try: node packages/cli/dist/bin.js status -c examples/multi-node/tip.config.ts (with MULTI_NODE_DATABASE_URL=${databaseUrl}); stop with Ctrl+C`);
  let stopping = false;
  // Processes that die on their own are reported; the others keep running.
  for (const p of node.processes) p.child.once('exit', (code, signal) => stopping || console.error(`multi-node: ${p.name} (pid ${p.pid}) exited (code ${code}, signal ${signal})`));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`multi-node: ${signal}: stopping every process (workers drain their running jobs)`);
    void node.stop().then((codes) => {
      for (const c of codes) console.log(`multi-node: ${c.name} exited (code ${c.code}${c.signal ? `, signal ${c.signal}` : ''})`);
      process.exit(codes.every((c) => c.code === 0) ? 0 : 1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
