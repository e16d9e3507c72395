import type { AppRole, Logger, TipApp } from '@tip/core';
import type { Command } from '../commandSpec.js';
import { HintedError, UsageError } from '../errors.js';

/** The roles `tip run --role` accepts. */
const ROLES: readonly AppRole[] = ['all', 'worker', 'web'];

/** Parses `--role`: `all` (default), `worker` or `web`. */
export function parseRole(value: string | boolean | undefined): AppRole {
  if (value === undefined) return 'all';
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as AppRole;
  throw new UsageError(`--role must be one of ${ROLES.join(', ')} (got "${String(value)}")`, 'see "tip run --help"');
}

/** Parses `--http` values: `host:port`, `[v6]:port`, `:port` or `port` (host 127.0.0.1). */
export function parseListen(value: string): {
  /** Interface to bind. */
  host: string;
  /** Port (0: any free one). */
  port: number;
} {
  const bad = () => new UsageError(`--http must be host:port, e.g. 127.0.0.1:8080 (got "${value}")`);
  const v = value.trim();
  let host = '127.0.0.1';
  let port = v;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  if (v6) [, host, port] = v6 as unknown as [string, string, string];
  else if (!/^\d+$/.test(v)) {
    const colon = v.lastIndexOf(':');
    if (colon < 0 || v.slice(0, colon).includes(':')) throw bad();
    host = v.slice(0, colon) || host;
    port = v.slice(colon + 1);
  }
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw bad();
  return { host, port: Number(port) };
}

/**
 * `tip run`: runs the deployment (mode `serve`: scheduler and services) until SIGINT/SIGTERM.
 * Listed in `COMMANDS`.
 * @internal
 */
export const runCommand: Command = {
  name: 'run',
  summary: 'run the deployment (or one role of it): scheduler on, optional status web server',
  options: {
    http: {
      type: 'string',
      valueName: '<host:port>',
      description:
        'serve the status page, JSON API, /healthz and /metrics there (port 0: any free port); with the @tip/web plugin the web UI and authenticated API instead; with --role worker only /healthz and /metrics',
    },
    role: {
      type: 'string',
      valueName: '<role>',
      default: 'all',
      description: "this process's part: all, worker (takes jobs) or web (status page and API, takes none; needs --http)",
    },
  },
  description:
    'Runs until SIGINT or SIGTERM, then stops cleanly: running jobs are drained (up to scheduler.drainTimeout)\n' +
    'and the exit code is 0. A second signal exits at once with code 1.\n' +
    'Split a deployment with --role: "worker" processes take jobs (with scheduler.backend pg-boss, from the\n' +
    'shared queue) and answer --http with their own /healthz and /metrics; a "web" process serves the status\n' +
    'page and API and takes no jobs. Each process runs the services whose runsOn lists its role.',
  async run(ctx) {
    const role = parseRole(ctx.values.role);
    const listen = typeof ctx.values.http === 'string' ? parseListen(ctx.values.http) : undefined;
    if (role === 'web' && !listen) {
      throw new UsageError('--role web needs --http <host:port>: a web process without HTTP does nothing', 'add e.g. --http 127.0.0.1:8080, or run --role worker / all');
    }
    const [{ formatDuration }, { openApp }] = await Promise.all([import('@tip/core'), import('../command.js')]);
    const { app, log } = await openApp(ctx, { logTo: 'stdout' });
    app.events.on('job.started', (e) => log.debug({ job: e.jobId, run: e.runId, reason: e.reason }, `job ${e.jobId} started`));
    app.events.on('job.finished', (e) => {
      // The scheduler already warns about runs that did not succeed.
      if (e.status === 'succeeded') log.info({ job: e.jobId, run: e.runId, ...e.counts }, `job ${e.jobId} succeeded in ${formatDuration(e.durationMs)}`);
    });

    let stopping = false;
    let onSignal!: (signal: NodeJS.Signals) => void;
    const signalled = new Promise<NodeJS.Signals>((resolve) => {
      onSignal = (signal) => {
        if (stopping) {
          log.warn(`received ${signal} again: exiting without waiting for running jobs`);
          process.exit(1);
        }
        stopping = true;
        resolve(signal);
      };
    });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Core's timers are unref'd: this keeps the process alive while it runs without --http.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    let server: HttpServer | undefined;
    try {
      await app.start({ mode: 'serve', role });
      if (listen) server = await startHttp(app, listen, role, log);
      ctx.io.out(`${await describeProcess(app, server)}\n`);
      if (role === 'all') ctx.io.out(server ? `TIP is running at ${server.url}\n` : 'TIP is running (no --http: no status server); press Ctrl+C to stop\n');
      const signal = await signalled;
      log.info(`received ${signal}: stopping (draining running jobs)`);
      await app.stop();
      return 0;
    } catch (err) {
      await app.stop();
      throw err;
    } finally {
      await server?.close();
      clearInterval(keepAlive);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};


/** What `tip run --http` serves: the CLI status server or the `@tip/web` server. */
interface HttpServer {
  /** `http://host:port/` it answers at. */
  readonly url: string;
  /** `web` for the `@tip/web` server. */
  readonly kind?: 'web';
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Starts the HTTP side of `tip run --http`: the `@tip/web` server (API with authentication,
 * OpenAPI, UI) when the app includes its plugin and this process serves (role `all` or `web`),
 * else the status server (role `worker`: `/healthz` and `/metrics` only).
 */
async function startHttp(app: TipApp, listen: { host: string; port: number }, role: AppRole, log: Logger): Promise<HttpServer> {
  if (role !== 'worker' && app.plugins.some((p) => p.name === '@tip/web')) {
    let web: typeof import('@tip/web');
    try {
      web = await import('@tip/web');
    } catch (err) {
      throw new HintedError(`the app includes the @tip/web plugin, but the CLI cannot import @tip/web: ${(err as Error).message}`, 'install @tip/web next to @tip/cli (npm install @tip/web)', 1, err);
    }
    const { isTipError, TipErrorCodes } = await import('@tip/core');
    let server: Awaited<ReturnType<typeof web.createWebServer>>;
    try {
      server = await web.createWebServer(app, { ...listen, log });
    } catch (err) {
      if (isTipError(err, TipErrorCodes.CONFIG_INVALID)) throw new HintedError(err.message, 'tip web token create --name <name> --scope admin (or listen on 127.0.0.1)', 1, err);
      throw err;
    }
    try {
      await server.listen();
    } catch (err) {
      await server.close();
      throw listenError(err as NodeJS.ErrnoException, listen.host, listen.port);
    }
    return { url: server.url, kind: 'web', close: () => server.close() };
  }
  const { startStatusServer } = await import('../statusServer.js');
  return startStatusServer(app, { ...listen, log, serves: role === 'worker' ? 'health' : 'status' });
}

/** A listen failure as an error that names the address and says what to do. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const shown = host.includes(':') ? `[${host}]` : host;
  if (err.code === 'EADDRINUSE') return new HintedError(`cannot serve on ${shown}:${port}: the address is already in use (another TIP or another program listens there)`, `choose another port with --http ${shown}:<port> (port 0 picks a free one)`, 1, err);
  if (err.code === 'EACCES') return new HintedError(`cannot serve on ${shown}:${port}: permission denied`, `ports below 1024 need privileges; choose another with --http ${shown}:<port>`, 1, err);
  if (err.code === 'EADDRNOTAVAIL') return new HintedError(`cannot serve on ${shown}:${port}: no such local address`, `listen on an address of this machine, e.g. --http 127.0.0.1:${port}`, 1, err);
  return err;
}

/** One line saying what this process does: `TIP worker <id> running (role worker): takes jobs…`. */
async function describeProcess(app: TipApp, server: HttpServer | undefined): Promise<string> {
  const health = await app.health();
  const services = health.services.map((s) => s.id).sort();
  const parts: string[] = [];
  const scheduling = app.config.scheduler.enabled && app.role !== 'web';
  if (app.role === 'web') parts.push('takes no jobs (triggers are enqueued for the workers)');
  else parts.push(`takes jobs${scheduling ? '' : ' (timers off: scheduler.enabled is false)'}`);
  parts.push(services.length ? `services ${services.join(', ')}` : 'no services');
  if (server && app.role === 'worker') parts.push(`health and metrics at ${server.url}healthz and ${server.url}metrics`);
  else if (server) parts.push(`${server.kind === 'web' ? 'web UI and API' : 'status page and API'} at ${server.url}`);
  else parts.push('no --http');
  return `TIP worker ${health.worker.id ?? '-'} running (role ${app.role}): ${parts.join('; ')}`;
}
