import type { JobRunRecord, TipApp, WorkerInfo } from '@tip/core';
import type { Command } from '../commandSpec.js';
import type { triggerJson } from '../format.js';

/** One row of `tip status`. */
export interface JobStatus {
  /** The job's id. */
  id: string;
  /** The plugin that declared it. */
  plugin: string | null;
  /** True for a group job. */
  group: boolean;
  /** Its triggers as JSON (see {@link triggerJson}). */
  triggers: ReturnType<typeof triggerJson>[];
  /** Its triggers in words (`every 20s`, `manual`). */
  triggerText: string;
  /** Its latest run, if it ever ran. */
  lastRun: JobRunRecord | null;
  /** When it runs next, if it is scheduled. */
  nextRunAt: Date | null;
}

/** What `tip status --json` prints. */
export interface StatusReport {
  /** Each job with its last and next run, by id. */
  jobs: Array<Omit<JobStatus, 'triggerText'>>;
  /** The workers registered on the database, newest heartbeat first. */
  workers: WorkerInfo[];
}

/**
 * Each job with its last run (from the run history) and its next run: the plan the running
 * deployment stored, or, for a job never planned, when a start would run it. Read through
 * `scheduler.plans()`.
 */
export async function collectStatus(app: TipApp): Promise<JobStatus[]> {
  const { formatTriggers, triggerJson } = await import('../format.js');
  const plans = await app.scheduler.plans();
  return plans.map((p) => ({
    id: p.id,
    plugin: p.plugin ?? null,
    group: p.group,
    triggers: p.triggers.map(triggerJson),
    triggerText: formatTriggers(p.triggers),
    lastRun: p.lastRun ?? null,
    nextRunAt: p.nextRunAt ?? null,
  }));
}

/** `tip status`: jobs with their last and next run, and the workers. Listed in `COMMANDS`.
 * @internal
 */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show each job with its last run and next run, and the workers with their roles and heartbeats',
  options: { json: { type: 'boolean', description: 'print JSON: { jobs, workers }' } },
  description:
    'Opens the existing database read-only in spirit (no migrations, no scheduling, no services, plugins\n' +
    'initialised in read mode), reads the run history, the stored plan and the worker registry, and stops.\n' +
    'A missing database is an error: it is never created here.',
  async run(ctx) {
    const now = Date.now();
    const [{ withStartedApp }, { formatWhen, table, toJson }, { formatDuration }] = await Promise.all([import('../command.js'), import('../format.js'), import('@tip/core')]);
    const { rows, workers } = await withStartedApp(ctx, { mode: 'read' }, async ({ app }) => ({
      rows: await collectStatus(app),
      workers: await app.scheduler.workers(),
    }));
    if (ctx.values.json) {
      const report: StatusReport = { jobs: rows.map(({ triggerText: _, ...row }) => row), workers };
      ctx.io.out(toJson(report));
      return 0;
    }
    if (rows.length === 0) {
      ctx.io.out('no jobs: the configured plugins define none\n');
    } else {
      ctx.io.out(
        table(
          ['JOB', 'PLUGIN', 'TRIGGERS', 'LAST RUN', 'NEXT RUN'],
          rows.map((r) => [
            r.id,
            r.plugin ?? '-',
            r.triggerText,
            r.lastRun ? `${r.lastRun.status} ${formatWhen(r.lastRun.endedAt ?? r.lastRun.startedAt, now)}` : 'never',
            r.nextRunAt ? formatWhen(r.nextRunAt, now) : '-',
          ]),
        ),
      );
    }
    ctx.io.out('\n');
    if (workers.length === 0) {
      ctx.io.out('no workers: no app has run jobs on this database yet\n');
      return 0;
    }
    ctx.io.out(
      table(
        ['WORKER', 'HOST', 'PID', 'ROLE', 'MODE', 'STATUS', 'LAST HEARTBEAT', 'RUNNING'],
        workers.map((w) => [
          w.id,
          w.host,
          String(w.pid),
          w.role ?? '-',
          w.scheduling ? w.mode : `${w.mode} (no timers)`,
          w.status,
          `${formatDuration(w.heartbeatAgeMs)} ago`,
          String(w.running),
        ]),
      ),
    );
    return 0;
  },
};
