import type { JobRunStatus } from '../scheduler/types.js';

/** Payload of `tip.started`. */
export interface TipStartedEvent {
  /** When the app finished starting (the app clock's time). */
  at: Date;
}

/** Payload of `tip.stopping`. */
export interface TipStoppingEvent {
  /** When the app began to stop (the app clock's time). */
  at: Date;
}

/** Payload of `job.started`. */
export interface JobStartedEvent {
  /** The job's id. */
  jobId: string;
  /** The new run's id. */
  runId: string;
  /** The group run's id when this run is a child of a group job. */
  parentRunId?: string;
  /** Attempt number: 1 when the run starts (retries happen within the same run). */
  attempt: number;
  /** Why the run started: `schedule`, `overdue`, `manual`, `event`, `group` or `retry`. */
  reason: string;
}

/** Payload of `job.finished`. */
export interface JobFinishedEvent {
  /** The job's id. */
  jobId: string;
  /** The run's id. */
  runId: string;
  /** The group run's id when this run is a child of a group job. */
  parentRunId?: string;
  /** How the run ended. */
  status: JobRunStatus;
  /** The failure message, when the run did not succeed. */
  error?: string;
  /** Duration of the run in milliseconds (the app clock's time). */
  durationMs: number;
  /** Counters the job reported (e.g. `{ added, removed }`), when it reported any. */
  counts?: Record<string, number>;
}

/** Payload of `service.failed`. */
export interface ServiceFailedEvent {
  /** The service's id. */
  serviceId: string;
  /** The plugin that registered the service, if any. */
  plugin?: string;
  /** What went wrong (the error's message, or why the service counts as failed). */
  error: string;
  /** Which start of the service failed, starting at 1. */
  attempt: number;
  /** Milliseconds until the service is restarted. */
  restartInMs: number;
}
