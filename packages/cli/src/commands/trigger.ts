import type { JobRunRecord, RunTicket, TipApp } from '@tip/core';
import type { Command, CommandContext } from '../commandSpec.js';
import { ExitCodes, HintedError, UsageError } from '../errors.js';

/** What `tip trigger` got from the app: the finished run, or only its id (`--no-wait`). */
type Outcome = { runId: string; record?: undefined } | { runId: string; record: JobRunRecord; children: JobRunRecord[] };

/**
 * `tip trigger <job>`: enqueues one run of a job (with the pg-boss backend, for the cluster's
 * workers; with the in-process backend it runs here), waits for it and prints its record. Listed in
 * `COMMANDS`.
 * @internal
 */
export const triggerCommand: Command = {
  name: 'trigger',
  summary: 'run a job now (through the cluster with pg-boss) and print its outcome',
  args: '<job>',
  positionals: { min: 1, max: 1 },
  options: {
    json: { type: 'boolean', description: 'print JSON: { run, children }, or { runId } with --no-wait' },
    'no-wait': { type: 'boolean', description: 'print the run id once the run is queued and exit 0 without waiting for it' },
    timeout: { type: 'string', valueName: '<duration>', description: 'stop waiting after this long (e.g. 30s, 10m) and exit 1; default: wait until the run ends' },
  },
  description:
    'Starts the app without scheduling, without services and without taking queued jobs (work: false), and\n' +
    'triggers the job (a group with all its children). With scheduler.backend pg-boss the run is enqueued for\n' +
    'the workers of the cluster ("tip run --role worker") and this command only waits for its record; with the\n' +
    'in-process backend the job runs inside this command, as before. The run id is printed as soon as the run\n' +
    'is queued ("run <id> queued" on stderr), then the finished run. --no-wait stops after the run id; --timeout\n' +
    'stops waiting. The run then goes on in the cluster; with the in-process backend it is drained (up to\n' +
    'scheduler.drainTimeout), then aborted, as this command stops.\n' +
    'Exit code 0 when the run succeeded (or was queued, with --no-wait), 1 when it did not or the wait timed\n' +
    'out, 2 when there is no such job.',
  async run(ctx) {
    const jobId = ctx.positionals[0]!;
    const noWait = ctx.values['no-wait'] === true;
    const [core, { openApp, startedFor }, { describeRun, toJson }] = await Promise.all([import('@tip/core'), import('../command.js'), import('../format.js')]);
    const timeoutMs = timeoutOption(ctx, core.parseDuration);
    const opened = await openApp(ctx, { logTo: 'stderr', defaultLevel: 'warn' });
    const { app } = opened;
    const unknownJob = (known: readonly string[]) =>
      new UsageError(`no job "${jobId}"`, known.length ? `known jobs: ${[...known].sort().join(', ')}` : 'the configured plugins define no jobs');
    const outcome = await startedFor<Outcome>(opened, { mode: 'run', work: false }, async () => {
      const known = app.scheduler.jobs().map((j) => j.id);
      if (!known.includes(jobId)) throw unknownJob(known);
      const ticket = app.scheduler.trigger(jobId);
      ticket.catch(() => undefined); // awaited below, or abandoned with --no-wait / --timeout
      let runId: string;
      try {
        runId = await ticket.enqueued();
      } catch (err) {
        if (core.isTipError(err, core.TipErrorCodes.JOB_UNKNOWN)) throw unknownJob(known);
        throw err;
      }
      if (noWait) {
        // Printed before the app stops: the in-process backend drains the run during the stop.
        ctx.io.out(ctx.values.json ? toJson({ runId }) : `${runId}\n`);
        return { runId };
      }
      if (!ctx.values.json) ctx.io.err(`run ${runId} queued\n`);
      await warnWithoutWorkers(app, ctx);
      const record = await waitFor(ticket, timeoutMs);
      if (record === undefined) {
        const where =
          app.config.scheduler.backend === 'pg-boss'
            ? 'the run goes on in the cluster'
            : 'the in-process backend runs it inside this command, so it is drained and then aborted as the command stops';
        throw new HintedError(
          `gave up waiting for job "${jobId}" (run ${runId}) after ${core.formatDuration(timeoutMs!)}: ${where}`,
          `follow it with "tip status" or GET /api/runs?job=${encodeURIComponent(jobId)}`,
          ExitCodes.FAILURE,
        );
      }
      const children = await app.scheduler.history({ parentId: record.id, limit: 10_000 });
      return { runId, record, children: children.sort((a, b) => a.jobId.localeCompare(b.jobId)) };
    });
    if (outcome.record === undefined) return ExitCodes.OK;
    if (ctx.values.json) ctx.io.out(toJson({ run: outcome.record, children: outcome.children }));
    else ctx.io.out(describeRun(outcome.record, outcome.children));
    return outcome.record.status === 'succeeded' ? ExitCodes.OK : ExitCodes.FAILURE;
  },
};

/** `--timeout` in ms (undefined: wait as long as the run takes); a bad value is a usage error. */
function timeoutOption(ctx: CommandContext, parseDuration: (value: string, what: string) => number): number | undefined {
  const raw = ctx.values.timeout;
  if (raw === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(String(raw), '--timeout');
  } catch {
    ms = Number.NaN;
  }
  if (!(ms > 0)) throw new UsageError(`--timeout must be a positive duration such as 30s or 10m (got "${String(raw)}")`, 'see "tip trigger --help"');
  return ms;
}

/** The record, or undefined once `timeoutMs` passed first. */
async function waitFor(ticket: RunTicket, timeoutMs: number | undefined): Promise<JobRunRecord | undefined> {
  if (timeoutMs === undefined) return ticket.done();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([ticket.done(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * With the pg-boss backend a queued run waits for a worker: warn when no live `tip run` process of
 * role worker or all is registered, since the run would then wait until one starts.
 */
async function warnWithoutWorkers(app: TipApp, ctx: CommandContext): Promise<void> {
  if (app.config.scheduler.backend !== 'pg-boss') return;
  const workers = await app.scheduler.workers();
  // Rows without a role predate roles: such a process ran everything (role all).
  const takers = workers.filter((w) => w.status === 'live' && w.mode === 'serve' && (w.role ?? 'all') !== 'web');
  if (takers.length > 0) return;
  ctx.io.err(
    'warning: no live worker takes jobs (no "tip run" process of role worker or all heartbeats on this database): ' +
      'the run waits in the queue until one starts; start one with "tip run --role worker"\n',
  );
}
