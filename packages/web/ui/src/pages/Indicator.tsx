import { ApiError, get } from '../api';
import { Card, ErrorBox, Spinner, useLoad } from '../components/common';
import { fmtDate, fmtDuration, fmtNum } from '../format';
import { href } from '../router';
import type { Verdict, VerdictEntry } from '../types';

interface History {
  indicator: unknown;
  events: { at: string; source: string; action: string }[];
  truncated?: boolean;
}

function Entry({ entry, title }: { entry: VerdictEntry; title: string }) {
  return (
    <Card title={title}>
      <dl class="facts">
        <dt>indicator</dt>
        <dd class="value">{entry.indicator.value}</dd>
        <dt>match</dt>
        <dd>{entry.match}</dd>
        <dt>score</dt>
        <dd>
          <strong>{fmtNum(entry.score)}</strong> <span class="muted">(base {fmtNum(entry.baseScore)} × decay {fmtNum(entry.decayFactor)})</span>
        </dd>
        <dt>first seen</dt>
        <dd>{fmtDate(entry.firstSeen)}</dd>
        <dt>last seen</dt>
        <dd>{fmtDate(entry.lastSeen)}</dd>
        {entry.allowlisted ? (
          <>
            <dt>allow-listed</dt>
            <dd class="neg">{JSON.stringify(entry.allowlisted)}</dd>
          </>
        ) : null}
      </dl>
      <table class="table breakdown">
        <thead>
          <tr>
            <th>source</th>
            <th>title</th>
            <th>category</th>
            <th>listed since</th>
            <th>last seen</th>
            <th>age</th>
            <th class="num">decay</th>
            <th class="num">weight</th>
            <th>counted</th>
          </tr>
        </thead>
        <tbody>
          {entry.listings.map((l) => (
            <tr key={l.source} class={l.counted ? '' : 'dim'}>
              <td>
                <a href={href(['source', l.source])}>{l.source}</a>
              </td>
              <td class="wrap">{l.title}</td>
              <td>{l.category}</td>
              <td>{fmtDate(l.listedSince)}</td>
              <td>{fmtDate(l.lastSeen)}</td>
              <td>{fmtDuration(l.ageMs)}</td>
              <td class="num">{fmtNum(l.decayFactor)}</td>
              <td class="num">{fmtNum(l.weight)}</td>
              <td>{l.counted ? 'yes' : l.enabled ? 'no' : 'no (disabled)'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

/** Indicator detail: the verdict breakdown (explain) and the listing history. */
export function Indicator({ value }: { value: string }) {
  const verdict = useLoad(() => get<Verdict>('blacklist/explain/' + encodeURIComponent(value)), [value]);
  const history = useLoad(() => get<History>(`blacklist/indicators/${encodeURIComponent(value)}/history`), [value]);
  const v = verdict.data;
  // explain answers 200 with listed: false for a value no enabled source lists (older servers: 404)
  const notListed = (verdict.error instanceof ApiError && verdict.error.status === 404) || v?.listed === false;
  return (
    <div class="indicator">
      <Card title="Indicator">
        <p class="value big">{value}</p>
        {verdict.loading && !v ? <Spinner /> : null}
        {notListed ? <p class="muted not-listed">No enabled source lists this indicator.</p> : <ErrorBox error={verdict.error} />}
        {v ? (
          <div class="verdict">
            <div class={`score-box ${v.listed ? 'score-listed' : ''}`}>
              <div class="score-num">{fmtNum(v.score)}</div>
              <div class="muted">score</div>
            </div>
            <dl class="facts">
              <dt>type</dt>
              <dd>{v.indicator.type}</dd>
              <dt>canonical</dt>
              <dd class="value">{v.indicator.value}</dd>
              <dt>listed</dt>
              <dd>{v.listed ? 'yes' : 'no'}</dd>
              <dt>exported</dt>
              <dd>{v.exported ? 'yes' : 'no'}</dd>
              <dt>related score</dt>
              <dd>{fmtNum(v.relatedScore)}</dd>
              <dt>combination</dt>
              <dd class="wrap">{v.combination}</dd>
              <dt>computed</dt>
              <dd>{fmtDate(v.computedAt)}</dd>
              {v.allowlisted ? (
                <>
                  <dt>allow-listed</dt>
                  <dd class="neg wrap">{JSON.stringify(v.allowlisted)}</dd>
                </>
              ) : null}
            </dl>
          </div>
        ) : null}
      </Card>
      {v?.exact ? <Entry entry={v.exact} title="Verdict breakdown: exact listings" /> : null}
      {v?.related.map((r, i) => <Entry key={i} entry={r} title={`Related (${r.match})`} />)}
      {v && v.sources.length > 0 ? (
        <Card title="Source weights">
          <table class="table">
            <thead>
              <tr>
                <th>source</th>
                <th>title</th>
                <th>category</th>
                <th class="num">weight</th>
                <th>from</th>
              </tr>
            </thead>
            <tbody>
              {v.sources.map((s) => (
                <tr key={s.id}>
                  <td>
                    <a href={href(['source', s.id])}>{s.id}</a>
                  </td>
                  <td class="wrap">{s.title}</td>
                  <td>{s.category}</td>
                  <td class="num">{fmtNum(s.weight)}</td>
                  <td>{s.weightFrom}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      ) : null}
      {verdict.error instanceof ApiError && verdict.error.status === 400 ? null : (
      <Card title="History">
        {history.loading && !history.data ? <Spinner /> : null}
        {history.error instanceof ApiError && history.error.status === 404 ? <p class="muted">No history.</p> : <ErrorBox error={history.error} />}
        {history.data && history.data.events.length === 0 ? <p class="muted">No listing events.</p> : null}
        {history.data?.truncated ? <p class="muted">Only the most recent events are shown.</p> : null}
        {history.data && history.data.events.length > 0 ? (
          <table class="table history">
            <thead>
              <tr>
                <th>at</th>
                <th>source</th>
                <th>action</th>
              </tr>
            </thead>
            <tbody>
              {[...history.data.events].reverse().map((e, i) => (
                <tr key={i}>
                  <td>{fmtDate(e.at)}</td>
                  <td>
                    <a href={href(['source', e.source])}>{e.source}</a>
                  </td>
                  <td class={e.action === 'listed' ? 'neg' : 'pos'}>{e.action}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
      )}
    </div>
  );
}
