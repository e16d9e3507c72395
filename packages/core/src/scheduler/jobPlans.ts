import type { RunHistory } from './RunHistory.js';
import type { JobDefinition, JobPlan, Trigger } from './types.js';

/** What {@link jobPlans} needs of a registered job. @internal */
export interface PlannedJob {
  readonly def: JobDefinition;
  readonly owner: string | undefined;
  readonly triggers: readonly Trigger[];
}

/**
 * Each job's {@link JobPlan}, sorted by id: its latest top-level run from the run history, its
 * next run as the backend knows it, and whether it runs in this process.
 * @param next when the job runs next (ms), or `undefined`
 * @param running whether a top-level run of it is in progress in this process
 * @internal
 */
export async function jobPlans<E extends PlannedJob>(
  jobs: Iterable<E>,
  history: RunHistory,
  next: (job: E) => number | undefined,
  running: (job: E) => boolean,
): Promise<JobPlan[]> {
  const out: JobPlan[] = [];
  for (const e of [...jobs].sort((a, b) => a.def.id.localeCompare(b.def.id))) {
    const [last] = await history.query({ jobId: e.def.id, limit: 1 });
    const at = next(e);
    out.push({
      id: e.def.id,
      plugin: e.owner,
      group: typeof e.def.children === 'function',
      triggers: e.triggers,
      running: running(e),
      lastRun: last,
      nextRunAt: at === undefined ? undefined : new Date(at),
    });
  }
  return out;
}
