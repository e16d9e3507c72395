import { TipError, TipErrorCodes } from '@tip/core';
import type { EventRowRaw } from './db.js';

/**
 * One recorded event, as `GET /api/web/events` lists it, as the `data:` of a `GET /api/web/stream`
 * message and as the body of a webhook delivery.
 */
export interface StreamEvent<D = unknown> {
  /** Position in the event log, increasing; the SSE `id:` (resume with `Last-Event-ID`). */
  seq: number;
  /** The event's name as emitted, e.g. `job.finished` or `blacklist.listings.changed`. */
  type: string;
  /** When it was recorded (ISO 8601, UTC). */
  at: string;
  /** The event's payload, as JSON. */
  data: D;
}

/** A parsed event-type filter: exact names and `prefix.*` patterns. @internal */
export interface TypeFilter {
  exact: Set<string>;
  prefixes: string[];
}

const MAX_FILTER_TYPES = 50;

/**
 * Parses `a,b,blacklist.*` into a filter; undefined when empty (everything matches).
 * @throws TipError `TIP_INPUT_INVALID` naming the parameter and the bad entry
 * @internal
 */
export function parseTypes(value: string | readonly string[] | undefined, what = 'types'): TypeFilter | undefined {
  if (value === undefined) return undefined;
  const parts = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) return undefined;
  if (parts.length > MAX_FILTER_TYPES) throw new TipError(TipErrorCodes.INPUT_INVALID, `${what}: at most ${MAX_FILTER_TYPES} event types`);
  const filter: TypeFilter = { exact: new Set(), prefixes: [] };
  for (const part of parts) {
    if (part.length > 200 || !/^[A-Za-z0-9_.:-]+(\.\*)?$|^\*$/.test(part)) {
      throw new TipError(TipErrorCodes.INPUT_INVALID, `${what}: "${part.slice(0, 60)}" is not an event name or a "prefix.*" pattern`);
    }
    if (part === '*') return undefined;
    if (part.endsWith('.*')) filter.prefixes.push(part.slice(0, -1));
    else filter.exact.add(part);
  }
  return filter;
}

/** True when `type` passes the filter. @internal */
export function matchesType(filter: TypeFilter | undefined, type: string): boolean {
  if (!filter) return true;
  if (filter.exact.has(type)) return true;
  for (const p of filter.prefixes) if (type.startsWith(p)) return true;
  return false;
}

/** The `source` an event is about: `data.source` when a string, or `data.source.id`. @internal */
export function sourceOf(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const s = (payload as { source?: unknown }).source;
  if (typeof s === 'string') return s.slice(0, 200);
  if (typeof s === 'object' && s !== null && typeof (s as { id?: unknown }).id === 'string') return (s as { id: string }).id.slice(0, 200);
  return null;
}

/** A stored row with its pre-rendered JSON and SSE frame (rendered once, shared by every client). @internal */
export interface LoggedEvent {
  seq: number;
  type: string;
  source: string | null;
  /** `{"seq":…,"type":…,"at":…,"data":…}` */
  json: string;
  /** The SSE message: `id:`, `event:`, `data:` lines and the blank line. */
  frame: string;
  /** The same without the `event:` line (EventSource `onmessage` gets it). */
  plain: string;
}

/** Renders a row once. @internal */
export function toLogged(row: EventRowRaw): LoggedEvent {
  const seq = Number(row.seq);
  const json = `{"seq":${seq},"type":${JSON.stringify(row.type)},"at":${JSON.stringify(row.at)},"data":${row.data}}`;
  return { seq, type: row.type, source: row.source, json, frame: `id: ${seq}\nevent: ${row.type}\ndata: ${json}\n\n`, plain: `id: ${seq}\ndata: ${json}\n\n` };
}
