import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// Core's own tables, used only by its run history and source runner. Internal: not exported from
// the package (read runs through `Scheduler.history()`, source state through `SourceRun.state`).

/** One run of one job (a group's children get their own rows, linked by `parentId`). @internal */
export const JobRunEntity = defineEntity({
  name: 'TipJobRun',
  tableName: 'tip_job_run',
  properties: {
    id: p.string().primary().length(36),
    jobId: p.string().length(200).index(),
    parentId: p.string().length(36).nullable().index(),
    plugin: p.string().length(200).nullable(),
    reason: p.string().length(32),
    status: p.string().length(16).index(),
    attempt: p.integer(),
    startedAt: p.datetime().index(),
    endedAt: p.datetime().nullable(),
    durationMs: p.integer().nullable(),
    error: p.text().nullable(),
    counts: p.json<Record<string, number>>().nullable(),
    workerId: p.string().length(36).nullable(),
  },
});
/** A row of {@link JobRunEntity}. @internal */
export type JobRunRow = InferEntity<typeof JobRunEntity>;

/** The scheduler's durable plan: when each job last ran and when it runs next. @internal */
export const JobStateEntity = defineEntity({
  name: 'TipJobState',
  tableName: 'tip_job_state',
  properties: {
    jobId: p.string().primary().length(200),
    lastRunId: p.string().length(36).nullable(),
    lastStatus: p.string().length(16).nullable(),
    lastStartedAt: p.datetime().nullable(),
    lastEndedAt: p.datetime().nullable(),
    nextRunAt: p.datetime().nullable(),
    updatedAt: p.datetime(),
    /** The run that claimed the planned slot (pg-boss backend), cleared when the next one is planned. */
    claimedRunId: p.string().length(36).nullable(),
  },
});
/** A row of {@link JobStateEntity}. @internal */
export type JobStateRow = InferEntity<typeof JobStateEntity>;

/** Small persisted key/value state per source: HTTP validators, cursors. @internal */
export const SourceStateEntity = defineEntity({
  name: 'TipSourceState',
  tableName: 'tip_source_state',
  properties: {
    sourceId: p.string().primary().length(200),
    key: p.string().primary().length(500),
    value: p.json<unknown>(),
    updatedAt: p.datetime(),
  },
});
/** A row of {@link SourceStateEntity}. @internal */
export type SourceStateRow = InferEntity<typeof SourceStateEntity>;

/** One app that runs jobs (a worker), with its heartbeat. @internal */
export const WorkerEntity = defineEntity({
  name: 'TipWorker',
  tableName: 'tip_worker',
  properties: {
    id: p.string().primary().length(36),
    host: p.string().length(255),
    pid: p.integer(),
    mode: p.string().length(16),
    scheduling: p.boolean(),
    version: p.string().length(64),
    leaseMs: p.integer(),
    startedAt: p.datetime(),
    heartbeatAt: p.datetime(),
    stoppedAt: p.datetime().nullable(),
    role: p.string().length(16).nullable(),
  },
});
/** A row of {@link WorkerEntity}. @internal */
export type WorkerRow = InferEntity<typeof WorkerEntity>;

/** The fan-in of one group run of the pg-boss backend: its children and how many ended. @internal */
export const JobGroupEntity = defineEntity({
  name: 'TipJobGroup',
  tableName: 'tip_job_group',
  properties: {
    runId: p.string().primary().length(36),
    jobId: p.string().length(200),
    total: p.integer(),
    ended: p.integer(),
    failed: p.integer(),
    children: p.json<unknown[]>(),
    createdAt: p.datetime(),
    completedAt: p.datetime().nullable(),
  },
});

/** Every entity core owns. @internal */
export const coreEntities = [JobRunEntity, JobStateEntity, SourceStateEntity, WorkerEntity, JobGroupEntity] as const;
