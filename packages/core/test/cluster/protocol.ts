// What the harness and a worker process say to each other: the worker's argv and its IPC messages.

/** Which scheduler backend a cluster runs. */
export type Backend = 'in-process' | 'pg-boss';

/** The one JSON argument of worker.ts. */
export interface WorkerArgs {
  /** The PostgreSQL URL every process shares. */
  url: string;
  /** `scheduler.backend`. */
  backend: Backend;
  /** The label its probe rows carry (`w0`, `A`…). */
  label: string;
  /** `StartOptions.role` (default `all`). */
  role?: 'all' | 'worker';
  /** Register the `tick` cron job. */
  tick?: boolean;
  /** Config merged over the defaults (e.g. `{ scheduler: { drainTimeout: '1s', pgBoss: { … } } }`). */
  config?: Record<string, unknown>;
}

/** A run record as it crosses the IPC channel (only what the tests read). */
export interface RecordSummary {
  id: string;
  jobId: string;
  status: string;
  attempt: number;
  workerId?: string;
  error?: string;
}

/** Harness → worker: trigger a job in the worker's own scheduler (the in-process backend runs it there). */
export interface TriggerMessage {
  type: 'trigger';
  req: number;
  job: string;
  payload?: unknown;
}

/** Worker → harness: the trigger's ticket, then its record (or why it failed). */
export type WorkerReply =
  | { type: 'ticket'; req: number; runId: string }
  | { type: 'done'; req: number; record: RecordSummary }
  | { type: 'failed'; req: number; error: string };
