import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, query } from '../api';
import { Card, ErrorBox, Spinner, Status, useLoad } from '../components/common';
import { TimeChart, type ChartSeries } from '../components/Chart';
import { fmtDate, fmtDuration, fmtNum, listOf } from '../format';
import { href } from '../router';
import type { RunRecord } from '../types';
import { useLiveReload } from '../live';
import { LiveEvents } from './Events';

interface TimelinePoint {
  at: string;
  listed: number;
  added: number;
  removed: number;
  cycleId?: string;
}

function Stat({ label, value, kind }: { label: string; value: string; kind?: string }) {
  return (
    <div class="stat">
      <div class={`stat-num ${kind ?? ''}`}>{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

/** Headline numbers: listed now, last cycle's changes, runs and failures of the last 24 hours. */
function Stats({ points, runs }: { points: TimelinePoint[] | undefined; runs: RunRecord[] | undefined }) {
  const last = points && points.length > 0 ? [...points].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[points.length - 1] : undefined;
  const since = Date.now() - 86_400_000;
  const recent = (runs ?? []).filter((r) => Date.parse(r.startedAt) >= since);
  const failed = recent.filter((r) => r.status !== 'succeeded' && r.status !== 'running').length;
  return (
    <div class="stats">
      {points ? <Stat label="listed indicators" value={last ? fmtNum(last.listed) : '—'} /> : null}
      {points ? <Stat label="last cycle: added / removed" value={last ? `+${fmtNum(last.added)} / −${fmtNum(last.removed)}` : '—'} /> : null}
      <Stat label="runs, last 24 h" value={runs ? fmtNum(recent.length) : '—'} />
      <Stat label="failed runs, last 24 h" value={runs ? fmtNum(failed) : '—'} kind={failed > 0 ? 'neg' : ''} />
    </div>
  );
}

function Timeline({ onData }: { onData: (points: TimelinePoint[]) => void }) {
  const { data, error, loading, reload } = useLoad(() => get<{ points: TimelinePoint[] }>('blacklist/timeline' + query({ since: '30d' })), []);
  useLiveReload(['blacklist.cycle.completed', 'blacklist.weights.updated'], reload);
  useEffect(() => {
    if (data) onData(data.points);
  }, [data, onData]);
  const chart = useMemo(() => {
    const pts = [...(data?.points ?? [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const x = pts.map((p) => Date.parse(p.at) / 1000);
    const series: ChartSeries[] = [
      { label: 'listed', color: '#2563eb', values: pts.map((p) => p.listed) },
      { label: 'added', color: '#16a34a', values: pts.map((p) => p.added), right: true },
      { label: 'removed', color: '#dc2626', values: pts.map((p) => p.removed), right: true },
    ];
    return { x, series };
  }, [data]);
  return (
    <Card title="Indicators over time (30 days)">
      <ErrorBox error={error} />
      {loading && !data ? <Spinner /> : null}
      {data && chart.x.length === 0 ? <p class="muted">No cycles yet.</p> : null}
      {data && chart.x.length > 0 ? <TimeChart x={chart.x} series={chart.series} label="Listed indicators per cycle" /> : null}
    </Card>
  );
}

function Runs({ onData }: { onData: (runs: RunRecord[]) => void }) {
  const { data, error, loading, reload } = useLoad(() => get<unknown>('runs' + query({ limit: 500 })), []);
  useLiveReload(['job.finished', 'job.group.completed'], reload);
  const runs = useMemo(() => listOf<RunRecord>(data, 'runs'), [data]);
  useEffect(() => {
    if (data) onData(runs);
  }, [data, runs, onData]);
  const chart = useMemo(() => {
    // Runs per hour bucket: succeeded vs failed (failed, timeout, aborted, partial).
    const buckets = new Map<number, { ok: number; bad: number }>();
    for (const r of runs) {
      const t = Date.parse(r.startedAt);
      if (Number.isNaN(t)) continue;
      const b = Math.floor(t / 3_600_000) * 3600;
      const e = buckets.get(b) ?? { ok: 0, bad: 0 };
      if (r.status === 'succeeded') e.ok++;
      else if (r.status !== 'running') e.bad++;
      buckets.set(b, e);
    }
    // the last 24 hours, empty hours included, plus any older hour the runs reach
    const now = Math.floor(Date.now() / 3_600_000) * 3600;
    for (let h = 0; h < 24; h++) if (!buckets.has(now - h * 3600)) buckets.set(now - h * 3600, { ok: 0, bad: 0 });
    const keys = [...buckets.keys()].sort((a, b) => a - b);
    const series: ChartSeries[] = [
      { label: 'succeeded', color: '#16a34a', values: keys.map((k) => buckets.get(k)!.ok), bars: true },
      { label: 'failed', color: '#dc2626', values: keys.map((k) => buckets.get(k)!.bad), bars: true },
    ];
    return { x: keys, series };
  }, [runs]);
  const failures = runs.filter((r) => r.status !== 'succeeded' && r.status !== 'running').slice(0, 10);
  return (
    <>
      <Card title="Runs per hour" actions={<a href={href(['jobs'])}>jobs &amp; workers →</a>}>
        <ErrorBox error={error} />
        {loading && !data ? <Spinner /> : null}
        {data && chart.x.length === 0 ? <p class="muted">No runs yet.</p> : null}
        {chart.x.length > 0 ? <TimeChart x={chart.x} series={chart.series} height={180} label="Runs per hour" /> : null}
      </Card>
      <Card title="Recent failures">
        {failures.length === 0 ? (
          <p class="muted">{data ? 'No failed runs.' : ''}</p>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>job</th>
                <th>status</th>
                <th>started</th>
                <th>duration</th>
                <th>error</th>
              </tr>
            </thead>
            <tbody>
              {failures.map((r) => (
                <tr key={r.id}>
                  <td>{r.jobId}</td>
                  <td>
                    <Status status={r.status} />
                  </td>
                  <td>{fmtDate(r.startedAt)}</td>
                  <td>{fmtDuration(r.durationMs)}</td>
                  <td class="wrap">{r.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

/** The dashboard: blacklist timeline (when the plugin is there), runs, failures, live events. */
export function Dashboard({ blacklist }: { blacklist: boolean }) {
  const [points, setPoints] = useState<TimelinePoint[] | undefined>();
  const [runs, setRuns] = useState<RunRecord[] | undefined>();
  return (
    <div class="dashboard">
      <div class="dash-main">
        <Stats points={blacklist ? points : undefined} runs={runs} />
        {blacklist ? <Timeline onData={setPoints} /> : null}
        <Runs onData={setRuns} />
      </div>
      <aside class="dash-side">
        <LiveEvents limit={15} />
      </aside>
    </div>
  );
}
