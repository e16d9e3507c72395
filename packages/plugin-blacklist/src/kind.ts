import { defineSourceKind, isTipError, TipErrorCodes, type IngestInput, type JobResult, type SourceKind, type SourceReport } from '@tip/core';
import { BLACKLIST_KIND } from './feeds/feedSource.js';
import { canonicalize } from './indicators/canonical.js';
import type { Indicator } from './indicators/types.js';
import { IndicatorSet } from './ingest/IndicatorSet.js';
import { Ingester, type FetchReport, type IngestContext, type IngestPolicy } from './ingest/Ingester.js';
import { Yielder } from './ingest/Yielder.js';
import { BlacklistErrors } from './errors.js';
import './report.js';
import type { BlacklistRuntime } from './runtime.js';

/** What a `blacklist` source may yield: indicators, raw strings (canonicalised here) or whole sets. */
export type BlacklistRecord = Indicator | string | IndicatorSet;

/** What the `blacklist` source kind needs from its app. */
export interface BlacklistKindDeps {
  /** The app's service, clock and metrics. */
  runtime: BlacklistRuntime;
  /** Safety limits of snapshot ingestion (from the configuration). */
  policy: IngestPolicy;
}

/**
 * The `blacklist` source kind: collects a run's records into one snapshot, diff-ingests it
 * atomically and records the run (succeeded, unchanged, failed or rejected) with its report.
 */
export function blacklistKind(deps: BlacklistKindDeps): SourceKind<BlacklistRecord> {
  return defineSourceKind<BlacklistRecord>({ kind: BLACKLIST_KIND, ingest: (input) => ingestRun(deps, input) });
}

async function ingestRun(deps: BlacklistKindDeps, { source, run, batches }: IngestInput<BlacklistRecord>): Promise<JobResult> {
  const service = deps.runtime.service();
  const clock = deps.runtime.clock();
  const base = { sourceId: source.id, jobRunId: run.id, startedAt: clock.now() };
  try {
    const { set, invalid } = await collect(batches);
    // Feed sources put their parse statistics into run.report; strings this kind could not
    // canonicalise add to them (a third-party source reports only what core filled).
    Object.assign(run.report, { lines: run.report.lines ?? set.size + invalid, invalid: (run.report.invalid ?? 0) + invalid });
    // a source's own shrink guard (`BlacklistSourceMeta.maxRemovedRatio`; untyped sources may set anything)
    const own = (source.meta as { maxRemovedRatio?: unknown } | undefined)?.maxRemovedRatio;
    const policy = typeof own === 'number' ? { ...deps.policy, maxRemovedRatio: own } : deps.policy;
    const counts = await service.ingester.snapshot({ ...base, now: clock.now(), report: run.report }, set, policy);
    await service.ingester.recordRun({ ...base, now: clock.now(), report: run.report }, 'succeeded', counts);
    deps.runtime.metrics?.run(source.id, 'succeeded', counts);
    return { counts: { ...counts } };
  } catch (err) {
    await recordFailure(deps, { ...base, now: clock.now(), report: failureReport(run.report, err) }, err);
    throw err;
  }
}

/**
 * The report of a failed run: what core and the fetch put into `run.report`, with the HTTP
 * status and received bytes of a failed request taken from the error when the report has none.
 */
function failureReport(report: SourceReport, err: unknown): FetchReport {
  const detail = (key: string) => (isTipError(err) && typeof err.details[key] === 'number' ? (err.details[key] as number) : undefined);
  const notModified = Ingester.isNotModified(err);
  return {
    ...report,
    httpStatus: report.httpStatus ?? detail('status') ?? (notModified ? 304 : undefined),
    bytes: report.bytes ?? detail('received') ?? 0,
    ...(notModified ? { lines: 0, invalid: 0, samples: [] } : {}),
  };
}

/** Merges a run's batches into one set; strings that are no indicator are counted. */
async function collect(batches: AsyncIterable<BlacklistRecord[]>): Promise<{ set: IndicatorSet; invalid: number }> {
  let set = new IndicatorSet();
  let invalid = 0;
  const y = new Yielder(); // big batches are merged in slices, between turns of the event loop
  for await (const batch of batches) {
    for (const item of batch) {
      if (y.due()) await y.pause();
      if (item instanceof IndicatorSet) {
        if (set.size === 0) set = item;
        else await set.mergeAsync(item, y);
      } else if (typeof item !== 'string') set.add(item.type, item.value);
      else {
        const r = canonicalize(item);
        if (r.ok) for (const i of r.indicators) set.add(i.type, i.value);
        else invalid++;
      }
    }
  }
  return { set, invalid };
}

/** Records a run that ended without new data: unchanged (304), rejected or failed. */
async function recordFailure(deps: BlacklistKindDeps, ctx: IngestContext, err: unknown): Promise<void> {
  const ingester = deps.runtime.service().ingester;
  if (Ingester.isNotModified(err)) {
    await ingester.recordRun(ctx, 'unchanged', {});
    deps.runtime.metrics?.run(ctx.sourceId, 'unchanged');
    return;
  }
  // core's code too: third-party sources may refuse their own data
  const rejected = isTipError(err, BlacklistErrors.FEED_REJECTED) || isTipError(err, TipErrorCodes.SOURCE_REJECTED);
  const status = rejected ? 'rejected' : 'failed';
  await ingester.recordRun(ctx, status, { invalid: ctx.report?.invalid ?? 0 }, err);
  deps.runtime.metrics?.run(ctx.sourceId, status);
  if (rejected) deps.runtime.metrics?.rejected(ctx.sourceId, isTipError(err) && typeof err.details.reason === 'string' ? err.details.reason : 'other');
}
