// A worker that dies or stops mid-job does not lose the run (issue [5/8], pg-boss backend): a
// SIGKILLed worker's job is retried by another worker once its job heartbeat lapses; a SIGTERMed
// worker whose drain timeout passes hands its job back and another worker completes it.
// The in-process backend is one process: no other worker can take over, so it is skipped here.
import * as core from '@tip/core';
import { testDialects } from '@tip/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, bounded, waitUntil, type WorkerProc } from './cluster/harness.ts';

const postgres = testDialects().includes('postgresql');
const pgBoss = 'PgBossScheduler' in core;
if (!postgres) console.warn('cluster crash tests skipped: they need PostgreSQL (TIP_TEST_DB excludes it)');
if (!pgBoss) console.warn('cluster crash tests skipped: this build of @tip/core has no PgBossScheduler yet');

interface SlowRow {
  kind: string;
  worker: string;
  attempt: number;
  run_id: string;
  at: Date;
}

/** `slow`'s probe rows, oldest first. */
const slowRows = (cluster: Cluster) => cluster.query<SlowRow>("select kind, worker, attempt, run_id, at from tip_probe where job_id = 'slow' order by id");
/** Waits until `worker` wrote a start row of `slow`. */
const startedOn = (cluster: Cluster, worker: WorkerProc) =>
  waitUntil(`slow to start on worker ${worker.label}`, async () => (await slowRows(cluster)).some((r) => r.kind === 'start' && r.worker === worker.label), 60_000, () => cluster.output());
const release = (cluster: Cluster) => cluster.query("insert into tip_probe (kind) values ('release')");
/** Logs how long each step took (for the report; nothing is asserted on it). */
const stopwatch = (name: string) => {
  const t0 = Date.now();
  console.log(`[pg-boss] ${name}: t0 ${new Date(t0).toISOString().slice(11, 23)}`);
  const laps: string[] = [];
  return {
    lap: (what: string) => laps.push(`${what} +${((Date.now() - t0) / 1000).toFixed(1)}s`),
    print: () => console.log(`[pg-boss] ${name}: ${laps.join(', ')}`),
  };
};

describe('a worker lost mid-job (in-process backend)', () => {
  it.skip('not applicable: the in-process backend is a single process, no other worker can take over its runs', () => undefined);
});

describe.runIf(postgres && pgBoss)('a worker lost mid-job (pg-boss backend)', () => {
  let cluster: Cluster | undefined;
  /** What each scenario's last attempt recorded (final record, the attempt its job saw), for the last test. */
  const lastAttempts: Array<{ scenario: string; record: number; seen: number | undefined }> = [];
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  }, 120_000);

  it('SIGKILL: the run is retried by the other worker and succeeds', { timeout: 170_000 }, async () => {
    cluster = await Cluster.create('pg-boss');
    const time = stopwatch('SIGKILL');
    await cluster.client();
    const a = await cluster.spawn('A');
    time.lap('A ready');
    const ticket = await cluster.trigger('slow');
    await startedOn(cluster, a);
    time.lap('slow started on A');
    const b = await cluster.spawn('B');
    time.lap('B ready');
    expect((await a.kill()).signal).toBe('SIGKILL');
    await release(cluster);
    time.lap('A killed, released');

    const record = await bounded(ticket.done(), 'the slow run to end after its worker was killed', 90_000, () => cluster!.output());
    time.lap('run ended');
    time.print();
    expect(record).toMatchObject({ id: ticket.runId, status: 'succeeded', workerId: b.workerId });
    expect(record.attempt).toBeGreaterThanOrEqual(2);
    const rows = await slowRows(cluster);
    console.log('[pg-boss] slow after SIGKILL:', rows.map((r) => `${r.kind}@${r.worker}#${r.attempt} ${r.at.toISOString().slice(11, 23)}`).join(', '));
    expect(rows.every((r) => r.run_id === ticket.runId)).toBe(true);
    expect(rows[0]).toMatchObject({ kind: 'start', worker: 'A' });
    expect(rows.filter((r) => r.kind === 'end')).toEqual([expect.objectContaining({ worker: 'B' })]);
    expect(rows.filter((r) => r.kind === 'start').at(-1)).toMatchObject({ worker: 'B' });
    lastAttempts.push({ scenario: 'SIGKILL', record: record.attempt, seen: rows.find((r) => r.kind === 'end')?.attempt });
    const [row] = await cluster.query<{ status: string; attempt: number; worker_id: string }>('select status, attempt, worker_id from tip_job_run where id = $1', [ticket.runId]);
    expect(row).toEqual({ status: 'succeeded', attempt: record.attempt, worker_id: b.workerId });
    expect((await b.terminate()).code).toBe(0);
  });

  it('SIGTERM past the drain timeout: the run is handed back and the other worker completes it', { timeout: 170_000 }, async () => {
    cluster = await Cluster.create('pg-boss');
    const time = stopwatch('SIGTERM');
    await cluster.client();
    const drain = { scheduler: { drainTimeout: '1s' } };
    const a = await cluster.spawn('A', { config: drain });
    time.lap('A ready');
    const ticket = await cluster.trigger('slow');
    await startedOn(cluster, a);
    time.lap('slow started on A');
    const b = await cluster.spawn('B', { config: drain });
    time.lap('B ready');
    expect((await a.terminate()).code, `worker A exits 0 after SIGTERM\n${a.output()}`).toBe(0);
    time.lap('A exited');
    await release(cluster);

    const record = await bounded(ticket.done(), 'the slow run to end after its worker stopped', 90_000, () => cluster!.output());
    time.lap('run ended');
    time.print();
    expect(record).toMatchObject({ id: ticket.runId, status: 'succeeded', workerId: b.workerId });
    const rows = await slowRows(cluster);
    console.log('[pg-boss] slow after SIGTERM:', rows.map((r) => `${r.kind}@${r.worker}#${r.attempt} ${r.at.toISOString().slice(11, 23)}`).join(', '), `; final attempt ${record.attempt}`);
    expect(rows[0]).toMatchObject({ kind: 'start', worker: 'A' });
    expect(rows.filter((r) => r.kind === 'end')).toEqual([expect.objectContaining({ worker: 'B' })]);
    lastAttempts.push({ scenario: 'SIGTERM', record: record.attempt, seen: rows.find((r) => r.kind === 'end')?.attempt });
    const [row] = await cluster.query<{ status: string; worker_id: string }>('select status, worker_id from tip_job_run where id = $1', [ticket.runId]);
    expect(row).toEqual({ status: 'succeeded', worker_id: b.workerId });
    expect((await b.terminate()).code).toBe(0);
  });

  // JobRun.attempt: "1 for the first attempt, then 2, 3… on retries" — the attempt a retried run's
  // job sees is the one its record ends with.
  it('the worker that takes a run over runs it as the record\'s attempt (run.attempt)', () => {
    expect(lastAttempts.map((a) => a.scenario), 'the two scenarios above ran').toEqual(['SIGKILL', 'SIGTERM']);
    const seen = lastAttempts.map(({ scenario, seen: attempt }) => ({ scenario, 'run.attempt': attempt }));
    expect(seen).toEqual(lastAttempts.map(({ scenario, record }) => ({ scenario, 'run.attempt': record })));
  });
});
