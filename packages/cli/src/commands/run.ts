import type { Command } from '../commandSpec.js';
import { UsageError } from '../errors.js';
import type { StatusServer } from '../statusServer.js';

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
  summary: 'run the deployment: scheduler on, optional status web server',
  options: {
    http: { type: 'string', valueName: '<host:port>', description: 'serve the status page, JSON API and /metrics there (port 0: any free port)' },
  },
  description:
    'Runs until SIGINT or SIGTERM, then stops cleanly: running jobs are drained (up to scheduler.drainTimeout)\n' +
    'and the exit code is 0. A second signal exits at once with code 1.',
  async run(ctx) {
    const listen = typeof ctx.values.http === 'string' ? parseListen(ctx.values.http) : undefined;
    const [{ formatDuration }, { openApp }, { startStatusServer }] = await Promise.all([import('@tip/core'), import('../command.js'), import('../statusServer.js')]);
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
    let server: StatusServer | undefined;
    try {
      await app.start({ mode: 'serve' });
      if (listen) server = await startStatusServer(app, { ...listen, log });
      ctx.io.out(server ? `TIP is running at ${server.url}\n` : 'TIP is running (no --http: no status server); press Ctrl+C to stop\n');
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

