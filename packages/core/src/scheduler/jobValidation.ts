import { TipError, TipErrorCodes } from '../errors/TipError.js';
import { parseDuration } from '../util/duration.js';
import { triggerList, validateTriggers } from './triggers.js';
import type { JobDefinition } from './types.js';

/**
 * Checks a job definition when it is added (or computed as a group child): an id of 1 to 200
 * characters, `run` or `children`, valid triggers and timeout.
 * @throws TipError `TIP_TRIGGER_INVALID` naming the job
 * @internal
 */
export function validateJob(job: JobDefinition): void {
  if (!job || typeof job.id !== 'string' || job.id.length === 0 || job.id.length > 200) {
    throw new TipError(TipErrorCodes.TRIGGER_INVALID, `a job needs an id of 1 to 200 characters (got ${JSON.stringify(job?.id)})`, {
      details: { jobId: job?.id },
    });
  }
  if (typeof job.run !== 'function' && typeof job.children !== 'function') {
    throw new TipError(TipErrorCodes.TRIGGER_INVALID, `job "${job.id}" has neither run() nor children()`, { details: { jobId: job.id } });
  }
  if (job.trigger !== undefined) validateTriggers(job.id, triggerList(job.trigger));
  if (job.timeout !== undefined) parseDuration(job.timeout, `job "${job.id}" timeout`);
}

/**
 * Checks a job being added to a scheduler: an id not registered yet, then {@link validateJob}.
 * @param registered the scheduler's jobs, with the plugin that added each
 * @throws TipError `TIP_DUPLICATE_ID` naming both owners, or what {@link validateJob} throws
 * @internal
 */
export function validateNewJob(job: JobDefinition, owner: string | undefined, registered: ReadonlyMap<string, { readonly owner: string | undefined }>): void {
  if (registered.has(job.id)) {
    throw new TipError(TipErrorCodes.DUPLICATE_ID, `job "${job.id}" is already registered`, {
      details: { jobId: job.id, owner, registeredBy: registered.get(job.id)?.owner },
    });
  }
  validateJob(job);
}
