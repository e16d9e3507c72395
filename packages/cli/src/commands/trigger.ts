import type { JobRunRecord } from '@tip/core';
import type { Command } from '../commandSpec.js';
import { UsageError } from '../errors.js';

/** `tip trigger <job>`: runs one job now and prints its run record. Listed in `COMMANDS`.
 * @internal
 */
export const triggerCommand: Command = {
  name: 'trigger',
  summary: 'run a job now and print its outcome',
  args: '<job>',
  positionals: { min: 1, max: 1 },
  options: { json: { type: 'boolean', description: 'print JSON' } },
  description:
    'Starts the app without scheduling and without services, runs the job (a group with all its children), prints the run, and stops.\n' +
    'Exit code 0 when the run succeeded, 1 when it did not, 2 when there is no such job.',
  async run(ctx) {
    const jobId = ctx.positionals[0]!;
    const [{ TipErrorCodes, isTipError }, { withStartedApp }, { describeRun, toJson }] = await Promise.all([import('@tip/core'), import('../command.js'), import('../format.js')]);
    const { record, children } = await withStartedApp(ctx, { mode: 'run' }, async ({ app }) => {
      let record: JobRunRecord;
      try {
        record = await app.scheduler.trigger(jobId);
      } catch (err) {
        if (isTipError(err, TipErrorCodes.JOB_UNKNOWN)) {
          const known = (err.details.known as string[] | undefined) ?? [];
          throw new UsageError(`no job "${jobId}"`, known.length ? `known jobs: ${known.sort().join(', ')}` : 'the configured plugins define no jobs');
        }
        throw err;
      }
      const children = await app.scheduler.history({ parentId: record.id, limit: 10_000 });
      return { record, children: children.sort((a, b) => a.jobId.localeCompare(b.jobId)) };
    });
    if (ctx.values.json) ctx.io.out(toJson({ run: record, children }));
    else ctx.io.out(describeRun(record, children));
    return record.status === 'succeeded' ? 0 : 1;
  },
};

