import { CronExpressionParser } from 'cron-parser';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import type { TipEventName, TipEvents } from '../events/EventBus.js';
import { parseDuration, type Duration } from '../util/duration.js';
import type { AfterTrigger, AtTrigger, CronTrigger, EveryTrigger, Trigger } from './types.js';

/** `every('1h')`: run at a fixed interval after each run ends. */
export const every = (interval: Duration, options: { immediate?: boolean } = {}): EveryTrigger => ({
  every: interval,
  ...options,
});
/** `cron('0 * * * *')`: run on a cron schedule (UTC unless `tz`). */
export const cron = (expression: string, tz?: string): CronTrigger => (tz ? { cron: expression, tz } : { cron: expression });
/** `at(date)`: run once at that moment. */
export const at = (when: Date | string | number): AtTrigger => ({ at: when });
/** `after('blacklist.cycle.completed')`: run every time the event is emitted. */
export const after = <E extends TipEventName>(event: E, when?: (payload: TipEvents[E]) => boolean): AfterTrigger<E> =>
  when ? { after: event, when } : { after: event };

/** Normalises `trigger` into an array. @internal */
export function triggerList(trigger: Trigger | readonly Trigger[] | undefined): readonly Trigger[] {
  if (trigger === undefined) return [];
  return Array.isArray(trigger) ? trigger : [trigger as Trigger];
}

/**
 * Checks every trigger of a job up front, so a typo fails at registration, naming the job.
 * @throws TipError `TIP_TRIGGER_INVALID`
 * @internal
 */
export function validateTriggers(jobId: string, triggers: readonly Trigger[]): void {
  for (const t of triggers) {
    const what = `job "${jobId}" trigger`;
    if ('every' in t) {
      if (parseDuration(t.every, `${what} every`) <= 0) {
        throw new TipError(TipErrorCodes.TRIGGER_INVALID, `${what}: every must be > 0`, { details: { jobId, trigger: t } });
      }
    } else if ('cron' in t) {
      cronNext(t, Date.now(), jobId);
    } else if ('at' in t) {
      if (Number.isNaN(new Date(t.at).getTime())) {
        throw new TipError(TipErrorCodes.TRIGGER_INVALID, `${what}: at "${String(t.at)}" is not a date`, {
          details: { jobId, trigger: String(t.at) },
        });
      }
    } else if (!('after' in t) || typeof t.after !== 'string' || t.after.length === 0) {
      throw new TipError(TipErrorCodes.TRIGGER_INVALID, `${what}: unknown trigger ${JSON.stringify(t)}`, {
        details: { jobId },
      });
    }
  }
}

function cronNext(t: CronTrigger, from: number, jobId = '?'): number {
  try {
    return CronExpressionParser.parse(t.cron, { currentDate: new Date(from), tz: t.tz ?? 'UTC' }).next().getTime();
  } catch (err) {
    throw new TipError(TipErrorCodes.TRIGGER_INVALID, `job "${jobId}" trigger: cron "${t.cron}" is invalid: ${(err as Error).message}`, {
      cause: err,
      details: { jobId, cron: t.cron },
    });
  }
}

/** What the plan knows about a job's past. */
export interface PlanState {
  /** End of the last top-level run, if any. */
  lastEndedAt?: number;
  /** Start of the last top-level run, if any. */
  lastStartedAt?: number;
}

/**
 * The next time a job is due according to its time-based triggers, or `undefined` when none
 * applies (event-only, manual-only, or an `at` already done).
 *
 * - `every`: last end + interval; never run → now (if `immediate`, default) or now + interval.
 * - `cron`: first slot after the last end (or after now when never run).
 * - `at`: that instant, unless a run already started at or after it.
 */
export function nextDue(triggers: readonly Trigger[], state: PlanState, now: number): number | undefined {
  let best: number | undefined;
  const take = (t: number | undefined) => {
    if (t !== undefined && (best === undefined || t < best)) best = t;
  };
  for (const t of triggers) {
    if ('every' in t) {
      const interval = parseDuration(t.every);
      if (state.lastEndedAt !== undefined) take(state.lastEndedAt + interval);
      else take(t.immediate === false ? now + interval : now);
    } else if ('cron' in t) {
      take(cronNext(t, state.lastEndedAt ?? now));
    } else if ('at' in t) {
      const when = new Date(t.at).getTime();
      if (state.lastStartedAt === undefined || state.lastStartedAt < when) take(when);
    }
  }
  return best;
}

/** The first due time strictly after `now` (used by the `skip` missed-run policy). @internal */
export function nextDueAfterNow(triggers: readonly Trigger[], now: number): number | undefined {
  return nextDue(
    triggers.filter((t) => !('at' in t && new Date(t.at).getTime() <= now)),
    { lastEndedAt: now, lastStartedAt: now },
    now,
  );
}
