// The scheduler contract across processes (issue [5/8], "Must show"): worker processes
// (cluster/worker.ts, the built @tip/core) share one PostgreSQL database; a run starts once, a
// group completes once with every child's outcome, an event starts each `after` job once, a
// restart keeps the schedule. The pg-boss backend runs it with 3 workers; the in-process backend,
// which is one process, with 1 worker and passes the same assertions.
// No timing assertions: every wait is bounded and named; counts that depend on the machine's speed
// are logged, not asserted.
import * as core from '@tip/core';
import { testDialects } from '@tip/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, bounded, waitUntil, type Backend, type Ticket } from './cluster/harness.ts';
import { FAN_CHILDREN, PROBE_JOBS } from './cluster/probe.ts';

const postgres = testDialects().includes('postgresql');
const pgBoss = 'PgBossScheduler' in core;
if (!postgres) console.warn('cluster contract tests skipped: they need PostgreSQL (TIP_TEST_DB excludes it)');
if (!pgBoss) console.warn('cluster contract tests (pg-boss) skipped: this build of @tip/core has no PgBossScheduler yet');

const variants: Array<{ backend: Backend; workers: number; run: boolean }> = [
  { backend: 'pg-boss', workers: 3, run: postgres && pgBoss },
  { backend: 'in-process', workers: 1, run: postgres },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = (values: readonly unknown[]) => new Map([...new Set(values)].map((v) => [v, values.filter((x) => x === v).length]));

describe.each(variants)('scheduler contract across processes: $backend, $workers worker(s)', ({ backend, workers, run }) => {
  let cluster: Cluster;
  const labels = Array.from({ length: workers }, (_, i) => `w${i}`);

  beforeAll(async () => {
    if (!run) return;
    cluster = await Cluster.create(backend);
    await cluster.client(); // migrates once before the workers start
    await cluster.spawnAll(labels);
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
  }, 180_000);

  it.runIf(run)(`${PROBE_JOBS} triggers: every job runs exactly once, with the ticket's run id`, { timeout: 240_000 }, async () => {
    const tickets: Ticket[] = [];
    for (let i = 0; i < PROBE_JOBS; i++) tickets.push(await cluster.trigger(`probe/${i}`, { i }));
    const started = Date.now();
    let succeeded = 0;
    await waitUntil(
      `${PROBE_JOBS} probe runs to succeed`,
      async () => {
        succeeded = (await cluster.query<{ n: number }>("select count(*)::int as n from tip_job_run where job_id like 'probe/%' and status = 'succeeded'"))[0]!.n;
        return succeeded >= PROBE_JOBS;
      },
      150_000,
      () => `(${succeeded} succeeded so far)\n${cluster.output()}`,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await cluster.diagnose()}`);
    });
    console.log(`[${backend}] ${PROBE_JOBS} runs succeeded ${((Date.now() - started) / 1000).toFixed(1)} s after the last trigger`);

    const runs = await cluster.query<{ id: string; job_id: string; status: string; attempt: number; worker_id: string }>(
      "select id, job_id, status, attempt, worker_id from tip_job_run where job_id like 'probe/%'",
    );
    expect(runs).toHaveLength(PROBE_JOBS);
    expect(new Set(runs.map((r) => r.id)).size).toBe(PROBE_JOBS);
    expect(runs.filter((r) => r.status !== 'succeeded' || r.attempt !== 1)).toEqual([]);
    const runOf = new Map(runs.map((r) => [r.job_id, r.id]));
    expect(tickets.map((t, i) => [`probe/${i}`, t.runId]).filter(([job, id]) => runOf.get(job!) !== id)).toEqual([]);

    // The jobs' own rows: one start and one end per job, under the ticket's run id.
    const probes = await cluster.query<{ kind: string; job_id: string; run_id: string; worker: string }>(
      "select kind, job_id, run_id, worker from tip_probe where job_id like 'probe/%'",
    );
    for (const kind of ['start', 'end']) {
      const rows = probes.filter((p) => p.kind === kind);
      const twice = [...count(rows.map((p) => p.job_id))].filter(([, n]) => n !== 1);
      expect(twice, `probe jobs with more than one ${kind} row`).toEqual([]);
      expect(rows).toHaveLength(PROBE_JOBS);
      expect(rows.filter((p) => runOf.get(p.job_id) !== p.run_id)).toEqual([]);
    }
    const byWorker = Object.fromEntries(count(probes.filter((p) => p.kind === 'end').map((p) => p.worker)));
    console.log(`[${backend}] ${PROBE_JOBS} probe runs by worker:`, byWorker);

    // Awaiting a ticket gives the run's record.
    const records = await bounded(Promise.all(tickets.map((t) => t.done())), `${PROBE_JOBS} tickets to resolve`, 60_000);
    expect(records.filter((r, i) => r.id !== tickets[i]!.runId || r.status !== 'succeeded')).toEqual([]);
  });

  it.runIf(run)(`a group of ${FAN_CHILDREN} children completes once with every child's counts`, { timeout: 180_000 }, async () => {
    const ticket = await cluster.trigger('fan');
    const record = await bounded(ticket.done(), 'the fan group to complete', 120_000, () => cluster.output());
    expect(record).toMatchObject({ id: ticket.runId, status: 'succeeded' });

    const summaries = await cluster.query<{ run_id: string; worker: string; summary: core.GroupSummary }>('select run_id, worker, summary from tip_probe_summary');
    expect(summaries, 'summary rows (onComplete runs once)').toHaveLength(1);
    const [{ run_id, summary }] = summaries as [(typeof summaries)[0]];
    expect(run_id).toBe(ticket.runId);
    expect(summary).toMatchObject({ jobId: 'fan', runId: ticket.runId, total: FAN_CHILDREN, succeeded: FAN_CHILDREN, failed: 0 });
    expect(summary.children).toHaveLength(FAN_CHILDREN);
    const counts = Object.fromEntries(summary.children.map((c) => [c.jobId, { status: c.status, counts: c.counts }]));
    expect(counts).toEqual(Object.fromEntries(Array.from({ length: FAN_CHILDREN }, (_, i) => [`fan/${i}`, { status: 'succeeded', counts: { i, one: 1 } }])));

    // The in-process backend writes run history in batches: the children's final rows may land
    // just after the group's ticket resolved.
    const childRuns = () => cluster.query<{ job_id: string; status: string; worker_id: string }>('select job_id, status, worker_id from tip_job_run where parent_id = $1', [ticket.runId]);
    await waitUntil(`${FAN_CHILDREN} child run rows to end`, async () => (await childRuns()).filter((c) => c.status !== 'running').length >= FAN_CHILDREN, 30_000);
    const children = await childRuns();
    expect(children).toHaveLength(FAN_CHILDREN);
    expect(children.filter((c) => c.status !== 'succeeded')).toEqual([]);
    const starts = await cluster.query<{ job_id: string; worker: string }>("select job_id, worker from tip_probe where kind = 'start' and job_id like 'fan/%'");
    expect([...count(starts.map((s) => s.job_id))].filter(([, n]) => n !== 1), 'children that started more than once').toEqual([]);
    const spread = count(starts.map((s) => s.worker));
    console.log(`[${backend}] ${FAN_CHILDREN} group children ran on ${spread.size} worker(s):`, Object.fromEntries(spread));
    expect(spread.size).toBeGreaterThanOrEqual(1);
  });

  it.runIf(run)('an after job runs once per event, whichever worker emitted it', { timeout: 180_000 }, async () => {
    const emitters: string[] = [];
    for (let n = 1; n <= 5; n++) {
      const ticket = await cluster.trigger('emitter', { n });
      expect(await bounded(ticket.done(), `emitter run ${n}`, 60_000, () => cluster.output())).toMatchObject({ id: ticket.runId, status: 'succeeded' });
      emitters.push(ticket.runId);
      await waitUntil(
        `listener run ${n} to end`,
        async () => (await cluster.query<{ n: number }>("select count(*)::int as n from tip_probe where job_id = 'listener' and kind = 'end'"))[0]!.n >= n,
        60_000,
        () => cluster.output(),
      );
    }
    // A duplicate would come from another worker polling a moment later: give it a few poll intervals.
    await sleep(3000);
    const runs = await cluster.query<{ id: string; status: string; reason: string }>("select id, status, reason from tip_job_run where job_id = 'listener'");
    expect(runs).toHaveLength(5);
    expect(runs.filter((r) => r.status !== 'succeeded' || r.reason !== 'event')).toEqual([]);
    const starts = await cluster.query<{ run_id: string; event_id: string; payload: { n: number; emitter: string }; worker: string }>(
      "select run_id, event_id, payload, worker from tip_probe where job_id = 'listener' and kind = 'start' order by id",
    );
    expect(starts).toHaveLength(5);
    expect(new Set(starts.map((s) => s.event_id)).size).toBe(5);
    expect(starts.map((s) => s.payload)).toEqual(emitters.map((emitter, i) => ({ n: i + 1, emitter })));
    console.log(`[${backend}] listener runs by worker:`, Object.fromEntries(count(starts.map((s) => s.worker))));
  });

  it.runIf(run)('restarting every worker keeps the schedule: no duplicate slot, runs in both phases', { timeout: 180_000 }, async () => {
    const codes = await Promise.all(cluster.live().map((w) => w.terminate()));
    expect(codes.map((c) => c.code)).toEqual(labels.map(() => 0));

    const phases: Array<{ from: number; to: number }> = [];
    for (const phase of [1, 2]) {
      const procs = await cluster.spawnAll(labels.map((l) => `p${phase}-${l}`), { tick: true });
      const from = Date.now();
      await sleep(7000);
      const exits = await Promise.all(procs.map((p) => p.terminate()));
      expect(exits.map((e) => e.code), `phase ${phase} workers exit 0 on SIGTERM`).toEqual(procs.map(() => 0));
      phases.push({ from, to: Date.now() });
    }

    const runs = await cluster.query<{ id: string; started_at: Date; status: string; reason: string; worker_id: string }>(
      "select id, started_at, status, reason, worker_id from tip_job_run where job_id = 'tick' order by started_at",
    );
    const slots = count(runs.map((r) => Math.floor(r.started_at.getTime() / 2000)));
    const duplicates = runs
      .filter((r) => slots.get(Math.floor(r.started_at.getTime() / 2000))! > 1)
      .map((r) => `${r.started_at.toISOString()} ${r.reason}/${r.status} run ${r.id} worker ${r.worker_id}`);
    expect(duplicates, 'tick runs sharing a 2-second slot').toEqual([]);
    const inPhase = phases.map(({ from, to }) => runs.filter((r) => r.started_at.getTime() >= from && r.started_at.getTime() <= to));
    console.log(
      `[${backend}] tick runs: phase 1 ${inPhase[0]!.length}, phase 2 ${inPhase[1]!.length}, total ${runs.length}; statuses`,
      Object.fromEntries(count(runs.map((r) => `${r.reason}/${r.status}`))),
    );
    expect(inPhase[0]!.length, 'tick runs in phase 1').toBeGreaterThan(0);
    expect(inPhase[1]!.length, 'tick runs in phase 2').toBeGreaterThan(0);
    const ends = await cluster.query<{ run_id: string }>("select run_id from tip_probe where job_id = 'tick' and kind = 'end'");
    expect([...count(ends.map((e) => e.run_id))].filter(([, n]) => n > 1), 'tick runs that ended twice').toEqual([]);
  });
});
