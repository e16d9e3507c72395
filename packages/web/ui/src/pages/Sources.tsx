import { useMemo } from 'preact/hooks';
import { get } from '../api';
import { Card, ErrorBox, Spinner, Status, useLoad } from '../components/common';
import { ExportCard } from '../components/Export';
import { Heatmap, type Overlap } from '../components/Heatmap';
import { fmtDate, fmtDuration, fmtNum, fmtPct, listOf } from '../format';
import { href, navigate } from '../router';
import type { SourceInfo, SourceMetrics } from '../types';

/** Sources with their weights, the overlap heat map, and the export download. */
export function Sources() {
  const sources = useLoad(() => get<{ sources: SourceInfo[] }>('blacklist/sources'), []);
  const weights = useLoad(() => get<unknown>('blacklist/weights'), []);
  const overlap = useLoad(() => get<Overlap>('blacklist/overlap'), []);
  const byId = useMemo(() => {
    const m = new Map<string, SourceMetrics>();
    for (const w of listOf<SourceMetrics>(weights.data, 'weights')) m.set(w.source, w);
    return m;
  }, [weights.data]);
  const list = sources.data?.sources ?? [];
  return (
    <>
      <Card title={`Sources${sources.data ? ` (${list.length})` : ''}`}>
        <ErrorBox error={sources.error} />
        <ErrorBox error={weights.error} />
        {sources.loading && !sources.data ? <Spinner /> : null}
        {list.length > 0 ? (
          <table class="table sources">
            <thead>
              <tr>
                <th>source</th>
                <th>title</th>
                <th>kind</th>
                <th>category</th>
                <th class="num">listed</th>
                <th class="num">weight</th>
                <th class="num">exclusive</th>
                <th class="num">FP rate</th>
                <th class="num">freshness</th>
                <th>last run</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => {
                const m = byId.get(s.id) ?? s.metrics ?? undefined;
                return (
                  <tr key={s.id} class={s.enabled ? '' : 'dim'}>
                    <td>
                      <a href={href(['source', s.id])}>{s.id}</a>
                      {s.enabled ? null : <span class="badge badge-muted">disabled</span>}
                    </td>
                    <td class="wrap title">{s.title}</td>
                    <td>{s.kind ?? s.origin ?? ''}</td>
                    <td>{s.category}</td>
                    <td class="num">{fmtNum(s.listed)}</td>
                    <td class="num">
                      {m ? (
                        <span class="weight">
                          <meter min={0} max={1} value={Math.max(0, Math.min(1, m.weight))} />
                          {fmtNum(m.weight, 2)}
                        </span>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td class="num">{fmtNum(m?.exclusive)}</td>
                    <td class="num">{m?.falsePositiveRate === undefined || m?.falsePositiveRate === null ? '—' : fmtPct(m.falsePositiveRate)}</td>
                    <td class="num">{fmtDuration(m?.freshnessMs)}</td>
                    <td>
                      {s.lastRun ? (
                        <>
                          <Status status={s.lastRun.status} /> <span class="muted">{fmtDate(s.lastRun.at ?? s.lastRun.endedAt ?? s.lastRun.startedAt)}</span>
                        </>
                      ) : (
                        <span class="muted">never</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </Card>
      <Card title="Overlap">
        <ErrorBox error={overlap.error} />
        {overlap.loading && !overlap.data ? <Spinner /> : null}
        {overlap.data ? <Heatmap overlap={overlap.data} onSelect={(id) => navigate(href(['source', id]))} /> : null}
      </Card>
      <ExportCard />
    </>
  );
}
