import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AppRole } from '../app/types.js';
import type { Database } from '../database/Database.js';
import { JobRunEntity, WorkerEntity, type WorkerRow } from '../database/entities.js';
import { executeRaw } from '../database/raw.js';
import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import type { TipMetrics } from '../metrics/Metrics.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { WorkerInfo, WorkerStatus } from './types.js';

/** Options of {@link WorkerRegistry}. */
export interface WorkerRegistryOptions {
  /** The database shared by the workers (`undefined`: nothing is registered or listed). */
  db: Database | undefined;
  /** The app clock heartbeats and leases are measured on. */
  clock: Clock;
  /** Where heartbeat failures and aborted runs are reported. */
  log: Logger;
  /** Heartbeat gauge and worker info metric; none when omitted. */
  metrics?: TipMetrics;
  /** Milliseconds between two heartbeats (`scheduler.heartbeat`). */
  heartbeatMs: number;
  /** Milliseconds after its last heartbeat a worker counts as dead (`scheduler.lease`, > heartbeatMs). */
  leaseMs: number;
  /** The version recorded in the worker row. */
  version: string;
}

/** How long {@link WorkerRegistry.stop} waits for its last write. */
const STOP_WRITE_MS = 5000;
/** Workers listed at most (the newest heartbeats first). */
const LIST_LIMIT = 200;

/**
 * The app's row in `tip_worker`: registered when an app that runs jobs starts (modes `serve` and
 * `run`, never `read`), heartbeated on the app clock, marked stopped on a clean stop. Runs the app
 * records carry its id, so other workers sharing the database abort only runs whose owner
 * stopped, whose lease expired or that have no owner (rows written before worker tracking).
 *
 * Every heartbeat also sweeps: `running` rows of workers that stopped or whose lease expired are
 * marked `aborted` with an error naming the worker and why. The next heartbeat is armed only after
 * the previous one's writes ended (and one real event-loop turn later), so a manual clock jumping
 * days ahead costs one heartbeat, not one per interval.
 */
export class WorkerRegistry {
  readonly #o: WorkerRegistryOptions;
  #id: string | undefined;
  #timer: TimerHandle | undefined;
  #beating: Promise<void> | undefined;
  #stopped = false;
  #beatFailures = 0;

  /** @param options database, clock, logger, metrics, heartbeat and lease */
  constructor(options: WorkerRegistryOptions) {
    if (!(options.leaseMs > options.heartbeatMs)) {
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `scheduler.lease (${options.leaseMs} ms) must be longer than scheduler.heartbeat (${options.heartbeatMs} ms)`, {
        details: { leaseMs: options.leaseMs, heartbeatMs: options.heartbeatMs },
      });
    }
    this.#o = options;
  }

  /** This app's worker id, once registered. */
  get id(): string | undefined {
    return this.#id;
  }

  /** Milliseconds between heartbeats. */
  get heartbeatMs(): number {
    return this.#o.heartbeatMs;
  }

  /** Milliseconds a worker stays live after its last heartbeat. */
  get leaseMs(): number {
    return this.#o.leaseMs;
  }

  /**
   * Inserts this app's worker row and starts heartbeating.
   * @param mode how the app was started (`serve` or `run`)
   * @param scheduling whether its scheduler runs timers and event triggers
   * @param role its part in the deployment (default `all`; see `StartOptions.role`)
   * @returns the worker id (a UUID)
   */
  async register(mode: string, scheduling: boolean, role: AppRole = 'all'): Promise<string | undefined> {
    const db = this.#o.db;
    if (!db || this.#id) return this.#id;
    const id = randomUUID();
    const now = new Date(this.#o.clock.now());
    const host = hostname().slice(0, 255);
    await db.em().insert(WorkerEntity, {
      id,
      host,
      pid: process.pid,
      mode: mode.slice(0, 16),
      scheduling,
      version: this.#o.version.slice(0, 64),
      leaseMs: this.#o.leaseMs,
      startedAt: now,
      heartbeatAt: now,
      stoppedAt: null,
      role,
    });
    this.#id = id;
    this.#o.metrics
      ?.gauge<'worker' | 'host' | 'version' | 'role'>({ name: 'tip_worker_info', help: "This app's worker id and role (value always 1)", labelNames: ['worker', 'host', 'version', 'role'] })
      .set({ worker: id, host, version: this.#o.version, role }, 1);
    this.#beatGauge(now.getTime());
    this.#o.log.info({ worker: id, host, pid: process.pid, mode, scheduling, role }, 'worker registered');
    this.#arm();
    return id;
  }

  /**
   * Marks `running` rows aborted whose owner is gone: a worker that stopped, one whose lease
   * expired, one no longer registered, and with `orphans` (at a scheduler's start) rows without
   * an owner. Rows of live workers and of this worker are never touched.
   * @returns how many rows were marked
   */
  async sweep(options: { orphans?: boolean } = {}): Promise<number> {
    const db = this.#o.db;
    if (!db) return 0;
    const now = this.#o.clock.now();
    const self = this.#id;
    const owners = await this.#runningByWorker(db);
    const ids = [...owners.keys()].filter((k): k is string => k !== null && k !== self);
    const rows = ids.length === 0 ? [] : await db.em().find(WorkerEntity, { id: { $in: ids } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    const by = self ? `; marked by worker ${self}` : '';
    let marked = 0;
    const abort = async (workerId: string | null, error: string) => {
      const n = await db.em().nativeUpdate(JobRunEntity, { status: 'running', workerId }, { status: 'aborted', endedAt: new Date(now), error: error.slice(0, 4000) });
      if (n > 0) this.#o.log.warn({ worker: workerId, runs: n }, `${n} run(s) marked aborted: ${error}`);
      marked += n;
    };
    for (const id of ids) {
      const w = byId.get(id);
      if (!w) await abort(id, `interrupted: its worker ${id} is no longer registered${by}`);
      else if (w.stoppedAt) await abort(id, `interrupted: worker ${describeWorker(w)} stopped at ${w.stoppedAt.toISOString()} without finishing the run${by}`);
      else if (w.heartbeatAt.getTime() + w.leaseMs < now) {
        const expired = new Date(w.heartbeatAt.getTime() + w.leaseMs).toISOString();
        await abort(id, `interrupted: worker ${describeWorker(w)} stopped heartbeating (last heartbeat ${w.heartbeatAt.toISOString()}, lease of ${w.leaseMs} ms expired at ${expired})${by}`);
      }
    }
    if (options.orphans && owners.has(null)) {
      await abort(null, `interrupted: the process that ran it stopped while the job ran (the run has no owning worker: recorded before worker tracking)${by}`);
    }
    return marked;
  }

  /**
   * Every registered worker (the 200 with the newest heartbeats), newest heartbeat first, with its
   * status on this app's clock and its runs in progress.
   */
  async list(): Promise<WorkerInfo[]> {
    const db = this.#o.db;
    if (!db) return [];
    const now = this.#o.clock.now();
    const [rows, running] = await Promise.all([db.em().find(WorkerEntity, {}, { orderBy: { heartbeatAt: 'desc', id: 'asc' }, limit: LIST_LIMIT }), this.#runningByWorker(db)]);
    return rows.map((w) => {
      const beat = w.heartbeatAt.getTime();
      const status: WorkerStatus = w.stoppedAt ? 'stopped' : beat + w.leaseMs < now ? 'expired' : 'live';
      return {
        id: w.id,
        host: w.host,
        pid: w.pid,
        mode: w.mode,
        scheduling: w.scheduling,
        ...(isAppRole(w.role) ? { role: w.role } : {}),
        version: w.version,
        leaseMs: w.leaseMs,
        startedAt: w.startedAt,
        heartbeatAt: w.heartbeatAt,
        stoppedAt: w.stoppedAt ?? undefined,
        heartbeatAgeMs: Math.max(0, now - beat),
        status,
        running: running.get(w.id) ?? 0,
        self: w.id === this.#id,
      };
    });
  }

  /** Deletes rows of other workers whose last heartbeat is older than `before`; returns how many. */
  async prune(before: Date): Promise<number> {
    const db = this.#o.db;
    if (!db) return 0;
    const where = this.#id ? { heartbeatAt: { $lt: before }, id: { $ne: this.#id } } : { heartbeatAt: { $lt: before } };
    return db.em().nativeDelete(WorkerEntity, where);
  }

  /**
   * Stops heartbeating and marks the row stopped (a clean stop: nobody waits for its lease). Waits
   * at most 5 s for that write; never throws (a failure is logged, the lease then expires).
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#disarm();
    await this.#beating;
    await this.#markStopped();
  }

  /**
   * Stops heartbeating without marking the row stopped: the row stays until its lease expires,
   * as when the process is killed. For tests of a worker dying.
   * @internal
   */
  async abandon(): Promise<void> {
    this.#stopped = true;
    this.#disarm();
    await this.#beating;
  }

  async #markStopped(): Promise<void> {
    const db = this.#o.db;
    const id = this.#id;
    if (!db || !id) return;
    const now = new Date(this.#o.clock.now());
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        db.em().nativeUpdate(WorkerEntity, { id }, { stoppedAt: now, heartbeatAt: now }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${STOP_WRITE_MS} ms`)), STOP_WRITE_MS);
          timer.unref();
        }),
      ]);
    } catch (err) {
      this.#o.log.warn({ err, worker: id }, `marking worker ${id} stopped failed; other workers will treat its runs as interrupted once its lease expires`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `running` rows per owner (`null`: rows without an owner). */
  async #runningByWorker(db: Database): Promise<Map<string | null, number>> {
    const { rows } = await executeRaw<{ worker_id: string | null; n: number | string }>(
      db.em(),
      "select worker_id, count(*) as n from tip_job_run where status = 'running' group by worker_id",
    );
    return new Map(rows.map((r) => [r.worker_id, Number(r.n)]));
  }

  #arm(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#beating = this.#beat().finally(() => {
        this.#beating = undefined;
        // One real turn before re-arming: a manual clock advanced by days fires one heartbeat.
        setTimeout(() => this.#arm(), 1).unref();
      });
    }, this.#o.heartbeatMs);
  }

  #disarm(): void {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Refreshes the heartbeat, then sweeps. Never throws (failures are logged, once per streak). */
  async #beat(): Promise<void> {
    const db = this.#o.db;
    const id = this.#id;
    if (!db || !id || this.#stopped) return;
    const now = this.#o.clock.now();
    try {
      const n = await db.em().nativeUpdate(WorkerEntity, { id }, { heartbeatAt: new Date(now), stoppedAt: null });
      if (n === 0) this.#o.log.warn({ worker: id }, `worker row ${id} is gone (pruned by another worker?); heartbeats cannot be recorded`);
      this.#beatGauge(now);
      if (this.#beatFailures > 0) this.#o.log.info({ worker: id, failures: this.#beatFailures }, 'worker heartbeat recorded again');
      this.#beatFailures = 0;
    } catch (err) {
      if (this.#beatFailures++ === 0) this.#o.log.warn({ err, worker: id }, `worker heartbeat failed: ${describeError(err)}`);
      return;
    }
    try {
      await this.sweep();
    } catch (err) {
      this.#o.log.warn({ err, worker: id }, `sweeping runs of dead workers failed: ${describeError(err)}`);
    }
  }

  #beatGauge(at: number): void {
    this.#o.metrics?.gauge({ name: 'tip_worker_heartbeat_timestamp_seconds', help: "When this worker last recorded its heartbeat (app clock, Unix seconds)" }).set(at / 1000);
  }
}

/** A role recorded in `tip_worker.role` (null for rows written before roles). */
function isAppRole(value: string | null | undefined): value is AppRole {
  return value === 'all' || value === 'worker' || value === 'web';
}

/** `<id> (<host> pid <pid>)`. */
function describeWorker(w: WorkerRow): string {
  return `${w.id} (${w.host} pid ${w.pid})`;
}
