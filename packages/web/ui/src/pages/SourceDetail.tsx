import { useMemo } from 'preact/hooks';
import { get } from '../api';
import { Card, ErrorBox, Spinner, Status, useLoad } from '../components/common';
import { TimeChart, type ChartSeries } from '../components/Chart';
import { UrlText } from '../components/UrlText';
import { fmtDate, fmtDuration, fmtNum } from '../format';
import { href } from '../router';
import type { SourceDetailData } from '../types';

const SHOWN = new Set(['id', 'title', 'kind', 'origin', 'category', 'url', 'enabled', 'listed', 'runs', 'metricsHistory', 'history', 'metrics', 'lastRun', 'config']);

/** One source: facts, URL (text + confirmed open), weight/volume history chart, runs. */
export function SourceDetail({ id }: { id: string }) {
  const { data, error, loading } = useLoad(() => get<SourceDetailData>('blacklist/sources/' + encodeURIComponent(id)), [id]);
  const hist = data?.metricsHistory ?? data?.history ?? (Array.isArray(data?.metrics) ? (data.metrics as SourceDetailData['history']) : undefined) ?? [];
  const chart = useMemo(() => {
    const pts = [...hist].map((p) => ({ ...p, t: typeof p.at === 'number' ? p.at / 1000 : Date.parse(p.at) / 1000 })).sort((a, b) => a.t - b.t);
    const series: ChartSeries[] = [
      { label: 'weight', color: '#7c3aed', values: pts.map((p) => (typeof p.weight === 'number' ? p.weight : null)) },
      { label: 'volume', color: '#2563eb', values: pts.map((p) => (typeof p.volume === 'number' ? p.volume : null)), right: true },
    ];
    return { x: pts.map((p) => p.t), series };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data]);
  const extra = data ? Object.entries(data).filter(([k, v]) => !SHOWN.has(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) : [];
  return (
    <>
      <Card title={<>Source <span class="value">{id}</span></>} actions={<a href={href(['sources'])}>← all sources</a>}>
        <ErrorBox error={error} />
        {loading && !data ? <Spinner /> : null}
        {data ? (
          <dl class="facts">
            <dt>title</dt>
            <dd class="wrap title">{data.title}</dd>
            <dt>{data.kind !== undefined ? 'kind' : 'origin'}</dt>
            <dd>{data.kind ?? data.origin ?? ''}</dd>
            <dt>category</dt>
            <dd>{data.category}</dd>
            <dt>enabled</dt>
            <dd>{data.enabled ? 'yes' : 'no'}</dd>
            {data.listed !== undefined ? (
              <>
                <dt>listed</dt>
                <dd>{fmtNum(data.listed)}</dd>
              </>
            ) : null}
            {data.url ? (
              <>
                <dt>url</dt>
                <dd>
                  <UrlText url={data.url} />
                </dd>
              </>
            ) : null}
            {extra.map(([k, v]) => [
              <dt key={`k${k}`}>{k}</dt>,
              <dd key={`v${k}`} class="wrap">
                {/At$/.test(k) && typeof v !== 'boolean' ? fmtDate(v) : String(v)}
              </dd>,
            ])}
          </dl>
        ) : null}
      </Card>
      {chart.x.length > 0 ? (
        <Card title="Weight and volume">
          <TimeChart x={chart.x} series={chart.series} label="Weight and volume history" />
        </Card>
      ) : null}
      {data?.runs ? (
        <Card title="Runs">
          {data.runs.length === 0 ? <p class="muted">No runs.</p> : null}
          {data.runs.length > 0 ? (
            <table class="table">
              <thead>
                <tr>
                  <th>at</th>
                  <th>status</th>
                  <th class="num">added</th>
                  <th class="num">removed</th>
                  <th class="num">records</th>
                  <th class="num">invalid</th>
                  <th>duration</th>
                  <th>HTTP</th>
                  <th>run</th>
                  <th>error</th>
                </tr>
              </thead>
              <tbody>
                {data.runs.map((r, i) => (
                  <tr key={`${r.runId}-${i}`}>
                    <td>{fmtDate(r.at)}</td>
                    <td>
                      <Status status={r.status} />
                    </td>
                    <td class="num pos">{fmtNum(r.added)}</td>
                    <td class="num neg">{fmtNum(r.removed)}</td>
                    <td class="num">{fmtNum(r.records)}</td>
                    <td class="num">{fmtNum(r.invalid)}</td>
                    <td>{fmtDuration(r.durationMs)}</td>
                    <td>{r.httpStatus ?? ''}</td>
                    <td class="muted mono">{r.runId}</td>
                    <td class="wrap neg">{r.error ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Card>
      ) : null}
    </>
  );
}
