import { useState } from 'preact/hooks';
import { get, post, query } from '../api';
import { Card, ErrorBox, Spinner, Status, useLoad } from '../components/common';
import { fmtDate, fmtDuration, listOf } from '../format';
import { useLiveReload } from '../live';
import type { JobInfo, RunRecord, WorkerInfo } from '../types';

function TriggerButton({ job, onDone }: { job: string; onDone: (msg: string) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class="btn-small"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          const res = await post<{ runId?: string }>(`jobs/${encodeURIComponent(job)}/trigger`, {});
          onDone(`${job}: triggered${res?.runId ? ` (run ${res.runId})` : ''}`);
        } catch (err) {
          onDone(`${job}: ${(err as Error).message}`);
        } finally {
          setBusy(false);
        }
      }}
    >
      Run now
    </button>
  );
}

/** Jobs (with a trigger button for admins), workers and recent runs. */
export function Jobs({ admin }: { admin: boolean }) {
  const [status, setStatus] = useState('');
  const [notice, setNotice] = useState('');
  const jobs = useLoad(() => get<unknown>('jobs'), []);
  const workers = useLoad(() => get<unknown>('workers'), []);
  const runs = useLoad(() => get<unknown>('runs' + query({ limit: 100, status })), [status]);
  useLiveReload(['job.finished', 'job.group.completed'], runs.reload);
  useLiveReload(['job.finished', 'job.group.completed'], jobs.reload);
  const jobList = listOf<JobInfo>(jobs.data, 'jobs');
  const workerList = listOf<WorkerInfo>(workers.data, 'workers');
  const runList = listOf<RunRecord>(runs.data, 'runs');
  return (
    <>
      <Card title="Jobs">
        {notice ? (
          <div class="notice" role="status">
            {notice}
          </div>
        ) : null}
        <ErrorBox error={jobs.error} />
        {jobs.loading && !jobs.data ? <Spinner /> : null}
        <table class="table jobs">
          <thead>
            <tr>
              <th>job</th>
              <th>plugin</th>
              <th>description</th>
              <th>last run</th>
              <th>next run</th>
              {admin ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {jobList.map((j) => (
              <tr key={j.id}>
                <td class="mono">
                  {j.id}
                  {j.group ? <span class="badge badge-muted">group</span> : null}
                </td>
                <td>{j.plugin ?? ''}</td>
                <td class="wrap">{j.description ?? ''}</td>
                <td>
                  {j.running ? <Status status="running" /> : j.lastRun ? <Status status={j.lastRun.status} /> : <span class="muted">never</span>}{' '}
                  <span class="muted">{j.lastRun ? fmtDate(j.lastRun.endedAt ?? j.lastRun.startedAt) : ''}</span>
                </td>
                <td>{fmtDate(j.nextRunAt)}</td>
                {admin ? (
                  <td>
                    <TriggerButton
                      job={j.id}
                      onDone={(m) => {
                        setNotice(m);
                        runs.reload();
                        jobs.reload();
                      }}
                    />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Workers">
        <ErrorBox error={workers.error} />
        <table class="table">
          <thead>
            <tr>
              <th>host</th>
              <th>pid</th>
              <th>role</th>
              <th>mode</th>
              <th>version</th>
              <th>started</th>
              <th>heartbeat</th>
              <th>state</th>
            </tr>
          </thead>
          <tbody>
            {workerList.map((w) => {
              const alive = !w.stoppedAt && Date.parse(w.heartbeatAt) + w.leaseMs > Date.now();
              return (
                <tr key={w.id} title={w.id}>
                  <td>{w.host}</td>
                  <td>{w.pid}</td>
                  <td>{w.role ?? ''}</td>
                  <td>{w.mode}</td>
                  <td>{w.version}</td>
                  <td>{fmtDate(w.startedAt)}</td>
                  <td>{fmtDate(w.heartbeatAt)}</td>
                  <td>{w.stoppedAt ? <Status status="stopped" /> : alive ? <Status status="ok" /> : <Status status="dead" />}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Card>
      <Card
        title="Runs"
        actions={
          <select value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)} aria-label="run status">
            <option value="">all statuses</option>
            {['running', 'succeeded', 'failed', 'partial', 'timeout', 'aborted'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        }
      >
        <ErrorBox error={runs.error} />
        <table class="table runs">
          <thead>
            <tr>
              <th>job</th>
              <th>status</th>
              <th>reason</th>
              <th>started</th>
              <th>duration</th>
              <th>counts</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {runList.map((r) => (
              <tr key={r.id} title={r.id}>
                <td class="mono">{r.jobId}</td>
                <td>
                  <Status status={r.status} />
                </td>
                <td>{r.reason ?? ''}</td>
                <td>{fmtDate(r.startedAt)}</td>
                <td>{fmtDuration(r.durationMs)}</td>
                <td class="wrap muted">{r.counts ? Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', ') : ''}</td>
                <td class="wrap neg">{r.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}
