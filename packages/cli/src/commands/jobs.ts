import type { Command } from '../command.js';
import { withStartedApp } from '../command.js';
import { formatTriggers, table, toJson, triggerJson } from '../format.js';

/** `tip jobs`: lists the job definitions of the configured plugins. */
export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list the jobs the configured plugins define',
  options: { json: { type: 'boolean', description: 'print JSON' } },
  description: 'Starts the app without scheduling (plugins are initialised, nothing runs), lists its jobs, and stops.',
  async run(ctx) {
    const jobs = await withStartedApp(ctx, async ({ app }) => app.scheduler.jobs());
    jobs.sort((a, b) => a.id.localeCompare(b.id));
    if (ctx.values.json) {
      ctx.io.out(
        toJson(
          jobs.map((j) => ({
            id: j.id,
            plugin: j.plugin ?? null,
            group: j.group,
            triggers: j.triggers.map(triggerJson),
            description: j.description ?? null,
          })),
        ),
      );
      return 0;
    }
    if (jobs.length === 0) {
      ctx.io.out('no jobs: the configured plugins define none\n');
      return 0;
    }
    ctx.io.out(
      table(
        ['JOB', 'PLUGIN', 'GROUP', 'TRIGGERS', 'DESCRIPTION'],
        jobs.map((j) => [j.id, j.plugin ?? '-', j.group ? 'yes' : '', formatTriggers(j.triggers), j.description ?? '']),
      ),
    );
    return 0;
  },
};
