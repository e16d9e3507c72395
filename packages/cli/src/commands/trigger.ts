import { TipErrorCodes, isTipError, type JobRunRecord } from '@tip/core';
import { formatDuration } from '@tip/core';
import type { Command } from '../command.js';
import { withStartedApp } from '../command.js';
import { UsageError } from '../errors.js';
import { formatCounts, formatTime, table, toJson } from '../format.js';

/** `tip trigger <job>`: runs one job now and prints its run record. */
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

/** The human form of a run record and its children's outcomes. */
export function describeRun(record: JobRunRecord, children: readonly JobRunRecord[]): string {
  const lines = [`job ${record.jobId}: ${record.status}`];
  lines.push(`  run       ${record.id} (${record.reason}, attempt ${record.attempt})`);
  lines.push(`  started   ${formatTime(record.startedAt)}`);
  if (record.durationMs !== undefined) lines.push(`  duration  ${formatDuration(record.durationMs)}`);
  if (record.counts && Object.keys(record.counts).length > 0) lines.push(`  counts    ${formatCounts(record.counts)}`);
  if (record.error) lines.push(`  error     ${record.error}`);
  let out = lines.join('\n') + '\n';
  if (children.length > 0) {
    const rows = children.map((c) => [c.jobId, c.status, c.durationMs === undefined ? '-' : formatDuration(c.durationMs), formatCounts(c.counts), c.error ?? '']);
    out += '\n' + table(['CHILD', 'STATUS', 'DURATION', 'COUNTS', 'ERROR'], rows);
  }
  return out;
}
