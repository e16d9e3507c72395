// The cluster tests' harness: a fresh PostgreSQL database, worker processes (worker.ts) spawned,
// awaited (READY), terminated or killed, a client app that enqueues runs, and SQL reads of what
// the jobs recorded. Every wait is bounded and names what it waited for; close() kills whatever
// still runs, even after a failed test.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger, createTip, type JobRunRecord, type TipApp } from '@tip/core';
import { tempPostgres, type TestDatabase } from '@tip/core/testing';
import { probePlugin } from './probe.ts';
import type { Backend, RecordSummary, TriggerMessage, WorkerArgs, WorkerReply } from './protocol.ts';

export type { Backend, RecordSummary } from './protocol.ts';

/** The worker script. */
export const WORKER_SCRIPT = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Upper bound of a worker's start (a Node process loading core and migrating, on a busy machine). */
export const READY_MS = 60_000;
/** Upper bound of a worker's exit after SIGTERM (it drains its jobs first) or SIGKILL. */
export const EXIT_MS = 60_000;

/**
 * Config every process of a cluster gets: fast heartbeats and polling so the tests do not wait
 * long, a lease long enough that a process starved of CPU for a few seconds on a busy machine is
 * not declared dead by the others, and a small ORM pool: each process also opens pg-boss's pool
 * (`2 × concurrency + 4` connections), and two test files of 4 processes each must fit in a
 * PostgreSQL with the default `max_connections` of 100 (shared with other suites).
 */
export function clusterConfig(extra: { scheduler?: Record<string, unknown> } = {}): Record<string, unknown> {
  const scheduler = extra.scheduler ?? {};
  return {
    ...extra,
    database: { poolSize: 3 },
    scheduler: {
      heartbeat: '1s',
      lease: '10s',
      drainTimeout: '10s',
      ...scheduler,
      pgBoss: { jobHeartbeat: '10s', monitorInterval: '1s', pollInterval: '500ms', ...((scheduler.pgBoss as object | undefined) ?? {}) },
    },
  };
}

/** Polls `check` until it returns something other than undefined/false; throws naming `what` after `ms`. */
export async function waitUntil<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000, context?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Rejects naming `what` when `promise` has not settled after `ms`. */
export function bounded<T>(promise: Promise<T>, what: string, ms: number, context?: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}${context ? `\n${context()}` : ''}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A run enqueued or started by {@link Cluster.trigger}: its id at once, its record when it ends
 * (`done()`: lazy, like the pg-boss backend's ticket, which polls only once asked).
 */
export interface Ticket {
  runId: string;
  done(): Promise<RecordSummary>;
}

/** How a worker process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned worker process. */
export class WorkerProc {
  readonly label: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** Its TIP worker id (`tip_worker.id`, `workerId` of its runs), known once READY. */
  workerId = '';
  #out = '';
  #err = '';
  #ended: Exit | undefined;
  #req = 0;
  readonly #pending = new Map<number, { ticket: (runId: string) => void; done: (r: RecordSummary) => void; fail: (e: Error) => void }>();

  constructor(label: string, args: WorkerArgs) {
    this.label = label;
    this.child = spawn(process.execPath, [WORKER_SCRIPT, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, NO_COLOR: '1' } });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.#out += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#err += d));
    this.child.on('message', (m: WorkerReply) => this.#reply(m));
    this.exited = new Promise<Exit>((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.#ended = { code, signal };
        for (const p of this.#pending.values()) p.fail(new Error(`worker ${label} exited (${code ?? signal}) before its run ended`));
        this.#pending.clear();
        resolve(this.#ended);
      }),
    );
  }

  /** Its process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }
  /** Whether it is still running. */
  get alive(): boolean {
    return this.#ended === undefined;
  }
  /** Its stdout and the end of its stderr, for error messages. */
  output(): string {
    return `--- worker ${this.label} (pid ${this.pid}) stdout ---\n${this.#out.slice(-2000)}\n--- stderr ---\n${this.#err.slice(-6000)}`;
  }

  /** Waits for `READY <worker id>`; rejects with its output when it exits first or after {@link READY_MS}. */
  async ready(): Promise<this> {
    const ended = this.exited.then((e) => Promise.reject(new Error(`worker ${this.label} exited (code ${e.code}, signal ${e.signal}) before READY\n${this.output()}`)));
    ended.catch(() => undefined);
    const match = await Promise.race([
      waitUntil(`worker ${this.label} to print READY`, () => /^READY (\S+)$/m.exec(this.#out) ?? undefined, READY_MS, () => this.output()),
      ended,
    ]);
    this.workerId = match[1]!;
    return this;
  }

  /** SIGTERM, then its exit (bounded). */
  async terminate(): Promise<Exit> {
    if (this.alive) this.child.kill('SIGTERM');
    return bounded(this.exited, `worker ${this.label} to exit after SIGTERM`, EXIT_MS, () => this.output());
  }

  /** SIGKILL, then its exit (bounded). */
  async kill(): Promise<Exit> {
    if (this.alive) this.child.kill('SIGKILL');
    return bounded(this.exited, `worker ${this.label} to exit after SIGKILL`, EXIT_MS, () => this.output());
  }

  /** Triggers `job` in this worker's own scheduler (over IPC). */
  trigger(job: string, payload?: unknown): Promise<Ticket> {
    if (!this.alive) return Promise.reject(new Error(`worker ${this.label} has exited`));
    const req = ++this.#req;
    let ticket!: (runId: string) => void;
    let fail!: (e: Error) => void;
    const runId = new Promise<string>((resolve, reject) => ((ticket = resolve), (fail = reject)));
    const done = new Promise<RecordSummary>((resolve, reject) => {
      this.#pending.set(req, { ticket, done: resolve, fail: (e) => (fail(e), reject(e)) });
    });
    done.catch(() => undefined);
    const message: TriggerMessage = { type: 'trigger', req, job, payload };
    this.child.send(message);
    return bounded(runId, `worker ${this.label} to accept trigger of ${job}`, READY_MS, () => this.output()).then((id) => ({ runId: id, done: () => done }));
  }

  #reply(m: WorkerReply): void {
    const p = this.#pending.get(m.req);
    if (!p) return;
    if (m.type === 'ticket') p.ticket(m.runId);
    else {
      this.#pending.delete(m.req);
      if (m.type === 'done') p.done(m.record);
      else p.fail(new Error(`worker ${this.label}: trigger failed: ${m.error}`));
    }
  }
}

/** PostgreSQL's error when `max_connections` is reached. */
const TOO_MANY_CLIENTS = /too many clients|53300/;

const everyChild = new Set<ChildProcess>();
// A test process that dies (or a vitest worker torn down) leaves no worker behind.
process.once('exit', () => {
  for (const child of everyChild) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const summarize = (r: JobRunRecord): RecordSummary => ({ id: r.id, jobId: r.jobId, status: r.status, attempt: r.attempt, workerId: r.workerId, error: r.error });

/**
 * One cluster on a fresh database: worker processes, a client app and SQL access. `close()` in
 * `afterAll` kills every process and drops the database whatever the tests did.
 */
export class Cluster {
  readonly backend: Backend;
  readonly database: TestDatabase;
  readonly workers: WorkerProc[] = [];
  readonly #pool: pg.Pool;
  #client: Promise<TipApp> | undefined;

  private constructor(backend: Backend, database: TestDatabase) {
    this.backend = backend;
    this.database = database;
    this.#pool = new pg.Pool({ connectionString: database.url, max: 1 });
  }

  /** A cluster of `backend` on a fresh PostgreSQL database (no process yet). */
  static async create(backend: Backend): Promise<Cluster> {
    return new Cluster(backend, await tempPostgres());
  }

  /**
   * Spawns a worker and waits for it to be READY. A start that failed because the server had no
   * free connection (53300: another suite's peak on the shared PostgreSQL) is retried twice.
   */
  async spawn(label: string, options: { tick?: boolean; config?: { scheduler?: Record<string, unknown> } } = {}): Promise<WorkerProc> {
    for (let attempt = 1; ; attempt++) {
      const worker = new WorkerProc(label, { url: this.database.url, backend: this.backend, label, tick: options.tick, config: clusterConfig(options.config) });
      this.workers.push(worker);
      everyChild.add(worker.child);
      try {
        return await worker.ready();
      } catch (err) {
        if (attempt >= 3 || worker.alive || !TOO_MANY_CLIENTS.test(String(err))) throw err;
        console.warn(`worker ${label} could not connect (too many clients on the server); starting it again`);
        await new Promise((r) => setTimeout(r, 2000 * attempt));
      }
    }
  }

  /** Spawns workers labelled `labels` at once and waits for every READY. */
  spawnAll(labels: readonly string[], options: { tick?: boolean; config?: { scheduler?: Record<string, unknown> } } = {}): Promise<WorkerProc[]> {
    return Promise.all(labels.map((l) => this.spawn(l, options)));
  }

  /** The workers still running. */
  live(): WorkerProc[] {
    return this.workers.filter((w) => w.alive);
  }

  /** The client app (started once): mode `run`, no timers, takes no jobs — what `tip trigger` starts. */
  client(): Promise<TipApp> {
    this.#client ??= (async () => {
      const app = await createTip({
        config: { ...clusterConfig({ scheduler: { backend: this.backend } }), database: { poolSize: 3, url: this.database.url } },
        plugins: [probePlugin({ worker: 'client' })],
        logger: createLogger({ level: 'warn', destination: process.stderr }),
      });
      return app.start({ mode: 'run', schedule: false, work: false });
    })();
    return this.#client;
  }

  /**
   * Starts a run of `job`: with pg-boss the client app enqueues it (any worker takes it) and this
   * resolves once it is queued, as `tip trigger` would (an enqueue that fails is an error here, not
   * a run silently missing later); the in-process backend is one process, so the run is triggered
   * inside its (first live) worker.
   */
  async trigger(job: string, payload?: unknown): Promise<Ticket> {
    if (this.backend === 'in-process') {
      const worker = this.live()[0];
      if (!worker) throw new Error(`no live worker to trigger ${job} in`);
      return worker.trigger(job, payload);
    }
    const ticket = (await this.client()).scheduler.trigger(job, { payload });
    await bounded(ticket.enqueued(), `the trigger of ${job} to be queued`, READY_MS);
    return { runId: ticket.runId, done: () => ticket.done().then(summarize) };
  }

  /** Runs SQL on the cluster's database (retried while the server has no free connection). */
  async query<R extends object = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#pool.query(sql, params)).rows as R[];
      } catch (err) {
        if (attempt >= 10 || !TOO_MANY_CLIENTS.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /**
   * Where runs stand, for failure messages: tip_job_run by status, and with pg-boss its jobs by
   * queue and state (with the highest retry count) and the queues' cached active singleton keys.
   */
  async diagnose(): Promise<string> {
    const lines: string[] = [];
    const add = async (title: string, sql: string) => {
      try {
        lines.push(`${title}: ${JSON.stringify(await this.query(sql))}`);
      } catch (err) {
        lines.push(`${title}: ${String(err)}`);
      }
    };
    await add('tip_job_run by status', 'select status, count(*)::int as n from tip_job_run group by status order by status');
    if (this.backend === 'pg-boss') {
      await add('pg-boss jobs', 'select name, state, count(*)::int as n, max(retry_count) as retries, min(start_after) as first_start_after from tip_pgboss.job group by name, state order by name, state');
      await add('pg-boss queues', 'select name, policy, singletons_active, monitor_on from tip_pgboss.queue');
    }
    return lines.join('\n');
  }

  /** Every worker's output (for failure messages). */
  output(): string {
    return this.workers.map((w) => w.output()).join('\n');
  }

  /** Kills every process still running, stops the client, drops the database. Never throws. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.kill().catch(() => undefined)));
    for (const w of this.workers) everyChild.delete(w.child);
    const client = await this.#client?.catch(() => undefined);
    await client?.stop().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await this.database.drop();
        break;
      } catch (err) {
        if (attempt === 5 || !TOO_MANY_CLIENTS.test(String(err))) {
          console.warn(`could not drop ${this.database.url}: ${String(err)}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  }
}
