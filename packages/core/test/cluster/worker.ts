// A worker process of the cluster tests: `node worker.ts '<WorkerArgs as JSON>'` (Node strips the
// types; '@tip/core' is the built dist). It starts a TipApp in mode `serve` with the probe plugin,
// prints `READY <worker id>` on stdout, takes `trigger` messages on its IPC channel (how
// the in-process backend's tests start runs inside it) and stops cleanly on SIGTERM (exit 0).
import { createLogger, createTip, type JobRunRecord } from '@tip/core';
import { probePlugin } from './probe.ts';
import type { RecordSummary, TriggerMessage, WorkerArgs, WorkerReply } from './protocol.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
const overrides = args.config ?? {};
const scheduler = (overrides.scheduler as Record<string, unknown> | undefined) ?? {};
const logger = createLogger({ level: (process.env.TIP_TEST_LOG as 'info' | undefined) ?? 'warn', destination: process.stderr });
const app = await createTip({
  config: { ...overrides, database: { ...(overrides.database as object | undefined), url: args.url }, scheduler: { ...scheduler, backend: args.backend } },
  plugins: [probePlugin({ worker: args.label, tick: args.tick })],
  logger: logger.child({ worker: args.label }),
});

const send = (reply: WorkerReply) => process.send?.(reply);
const summary = (r: JobRunRecord): RecordSummary => ({ id: r.id, jobId: r.jobId, status: r.status, attempt: r.attempt, workerId: r.workerId, error: r.error });

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`worker ${args.label}: ${signal}, stopping\n`);
  try {
    await app.stop();
    process.stdout.write(`STOPPED ${args.label}\n`, () => process.exit(0));
  } catch (err) {
    process.stderr.write(`worker ${args.label}: stop failed: ${String(err)}\n`, () => process.exit(1));
  }
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
process.on('message', (message: TriggerMessage) => {
  if (message.type !== 'trigger') return;
  const ticket = app.scheduler.trigger(message.job, { payload: message.payload });
  send({ type: 'ticket', req: message.req, runId: ticket.runId });
  ticket.then(
    (record) => send({ type: 'done', req: message.req, record: summary(record) }),
    (err: unknown) => send({ type: 'failed', req: message.req, error: String(err) }),
  );
});
// Core's timers are unref'd; this keeps the process alive until SIGTERM.
setInterval(() => undefined, 1 << 30);

try {
  await app.start({ mode: 'serve', role: args.role ?? 'all' });
  process.stdout.write(`READY ${app.workers.id ?? '?'}\n`);
} catch (err) {
  process.stderr.write(`worker ${args.label}: start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`, () => process.exit(1));
}
