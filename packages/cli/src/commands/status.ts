import type { JobRunRecord, TipApp } from '@tip/core';
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

/**
 * Each job with its last run (from the run history) and its next run: the plan the running
 * deployment stored, or, for a job never planned, when a start would run it.
 */
export async function collectStatus(app: TipApp, now = Date.now()): Promise<JobStatus[]> {
  const [{ RunHistory, nextDue }, { formatTriggers, triggerJson }] = await Promise.all([import('@tip/core'), import('../format.js')]);
  const plans = await new RunHistory(app.db, app.log).loadPlans();
  const out: JobStatus[] = [];
  for (const job of app.scheduler.jobs()) {
    const [last] = await app.scheduler.history({ jobId: job.id, limit: 1 });
    const plan = plans.get(job.id);
    let next = plan?.nextRunAt ?? job.nextRunAt;
    if (!next && !plan) {
      const due = nextDue(job.triggers, {}, now);
      if (due !== undefined) next = new Date(due);
    }
    out.push({
      id: job.id,
      plugin: job.plugin ?? null,
      group: job.group,
      triggers: job.triggers.map(triggerJson),
      triggerText: formatTriggers(job.triggers),
      lastRun: last ?? null,
      nextRunAt: next ?? null,
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** `tip status`: jobs with their last and next run. Listed in `COMMANDS`.
 * @internal
 */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show each job with its last run and next run',
  options: { json: { type: 'boolean', description: 'print JSON' } },
  description:
    'Opens the existing database read-only in spirit (no migrations, no scheduling, no services, plugins\n' +
    'initialised in read mode), reads the run history and the stored plan, and stops. A missing database\n' +
    'is an error: it is never created here.',
  async run(ctx) {
    const now = Date.now();
    const [{ withStartedApp }, { formatWhen, table, toJson }] = await Promise.all([import('../command.js'), import('../format.js')]);
    const rows = await withStartedApp(ctx, { mode: 'read' }, ({ app }) => collectStatus(app, now));
    if (ctx.values.json) {
      ctx.io.out(toJson(rows.map(({ triggerText: _, ...row }) => row)));
      return 0;
    }
    if (rows.length === 0) {
      ctx.io.out('no jobs: the configured plugins define none\n');
      return 0;
    }
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
    return 0;
  },
};
