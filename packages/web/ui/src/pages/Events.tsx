import { useState } from 'preact/hooks';
import type { StreamEvent } from '../api';
import { Card } from '../components/common';
import { fmtDate, fmtDuration } from '../format';
import { liveTypes, useLive } from '../live';
import { href } from '../router';

type Data = Record<string, unknown>;

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

/** Short plain-text summary of an event; sample values become links to their detail. */
function Summary({ e }: { e: StreamEvent }) {
  const d = (e.data && typeof e.data === 'object' ? e.data : {}) as Data;
  switch (e.type) {
    case 'blacklist.listings.changed': {
      const added = Array.isArray(d.sampleAdded) ? (d.sampleAdded as unknown[]).map(str) : [];
      const removed = Array.isArray(d.sampleRemoved) ? (d.sampleRemoved as unknown[]).map(str) : [];
      return (
        <div>
          <div>
            <strong>{str(d.source)}</strong>: <span class="pos">+{str(d.added)}</span> <span class="neg">−{str(d.removed)}</span>
          </div>
          {added.length > 0 ? (
            <div class="samples">
              {added.slice(0, 5).map((v, i) => (
                <a key={`a${i}`} class="sample pos" href={href(['indicator', v])}>
                  {v}
                </a>
              ))}
            </div>
          ) : null}
          {removed.length > 0 ? (
            <div class="samples">
              {removed.slice(0, 5).map((v, i) => (
                <a key={`r${i}`} class="sample neg" href={href(['indicator', v])}>
                  {v}
                </a>
              ))}
            </div>
          ) : null}
        </div>
      );
    }
    case 'job.group.completed': {
      const failed = typeof d.failed === 'number' ? d.failed : 0;
      return (
        <div>
          <strong>{str(d.jobId)}</strong> <span class={`badge badge-${failed === 0 ? 'ok' : 'bad'}`}>{failed === 0 ? 'completed' : `${failed} failed`}</span>{' '}
          <span class="muted">
            {str(d.succeeded)}/{str(d.total)} children succeeded
          </span>
        </div>
      );
    }
    case 'job.finished': {
      const run = (d.run && typeof d.run === 'object' ? d.run : d) as Data;
      return (
        <div>
          <strong>{str(run.jobId ?? d.jobId ?? d.job)}</strong> <span class={`badge badge-${run.status === 'succeeded' ? 'ok' : 'bad'}`}>{str(run.status ?? d.status)}</span>{' '}
          {typeof run.durationMs === 'number' ? fmtDuration(run.durationMs) : ''}
          {run.error ? <div class="wrap neg">{str(run.error)}</div> : null}
        </div>
      );
    }
    case 'blacklist.weights.updated': {
      const w = Array.isArray(d.weights) ? (d.weights as Data[]) : [];
      return (
        <div>
          weights of {w.length} sources recomputed
          {w.length > 0 ? <div class="samples">{w.slice(0, 6).map((x, i) => <span key={i} class="sample">{`${str(x.source)} ${typeof x.weight === 'number' ? x.weight.toFixed(2) : ''}`}</span>)}</div> : null}
        </div>
      );
    }
    case 'service.failed':
      return (
        <div class="neg">
          {str(d.serviceId ?? d.service ?? d.name)}: {str(d.error ?? d.message)}
        </div>
      );
    default:
      return <div class="wrap muted">{JSON.stringify(e.data).slice(0, 300)}</div>;
  }
}

/** The filter's choices: the followed types (exact names), plus any other type seen. */
function typeOptions(events: readonly StreamEvent[]): string[] {
  const names = new Set(liveTypes().filter((t) => !t.endsWith('*')));
  for (const e of events) names.add(e.type);
  return [...names].sort();
}

/** The live events panel (newest first); the full page can filter by type. */
export function LiveEvents({ limit, filter }: { limit?: number; filter?: boolean }) {
  const { events, connected } = useLive();
  const [type, setType] = useState('');
  const matching = type ? events.filter((e) => e.type === type) : events;
  const shown = limit ? matching.slice(0, limit) : matching;
  return (
    <Card
      title="Live events"
      class="live"
      actions={
        <>
          {filter ? (
            <select value={type} onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value)} aria-label="event type">
              <option value="">all types</option>
              {typeOptions(events).map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          ) : null}
          <span class={`dot ${connected ? 'dot-on' : 'dot-off'}`} title={connected ? 'connected' : 'disconnected'} />
          {limit ? <a href={href(['events'])}>all →</a> : null}
        </>
      }
    >
      {shown.length === 0 ? <p class="muted">Waiting for events…</p> : null}
      <ul class="events" aria-live="polite">
        {shown.map((e) => (
          <li key={`${e.seq}-${e.type}`} class="event" data-type={e.type}>
            <div class="event-head">
              <span class="event-type">{e.type}</span>
              <span class="muted">{fmtDate(e.at)}</span>
            </div>
            <Summary e={e} />
          </li>
        ))}
      </ul>
    </Card>
  );
}

/** The full events page. */
export function EventsPage() {
  return <LiveEvents filter />;
}
