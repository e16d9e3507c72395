import type { JobDefinition, Trigger } from '@tip/core';
import type { Command } from '../commandSpec.js';

/** `tip jobs`: lists the job definitions of the configured plugins. Listed in `COMMANDS`.
 * @internal
 */
export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list the jobs the configured plugins define',
  options: { json: { type: 'boolean', description: 'print JSON' } },
  description: 'Loads the config and registers the plugins, then lists the jobs they declare. Opens no database\nand initialises no plugin: it works before "tip migrate" and while the database is down.',
  async run(ctx) {
    // Loaded on use: `tip --help` and usage errors need neither @tip/core nor the formatters.
    const [{ withLoadedApp }, { formatTriggers, table, toJson, triggerJson }] = await Promise.all([import('../command.js'), import('../format.js')]);
    const jobs = await withLoadedApp(ctx, async ({ app }) => app.jobDefinitions().map(({ job, plugin }) => jobSummary(job, plugin)));
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

/** What `tip jobs` shows of a declared job. */
export interface JobSummary {
  /** The job's id. */
  id: string;
  /** The plugin that declared it. */
  plugin: string | undefined;
  /** True for a group job (one with children). */
  group: boolean;
  /** Its triggers; empty for a manual job. */
  triggers: readonly Trigger[];
  /** Its description. */
  description: string | undefined;
}

/** A job definition as `tip jobs` lists it (no scheduler needed). */
export function jobSummary(job: JobDefinition, plugin?: string): JobSummary {
  const triggers: readonly Trigger[] = job.trigger === undefined ? [] : Array.isArray(job.trigger) ? (job.trigger as readonly Trigger[]) : [job.trigger as Trigger];
  return { id: job.id, plugin, group: job.children !== undefined, triggers, description: job.description };
}
