// Small display helpers. Everything returned is plain text (rendered as Preact text nodes).

/** A date (ISO string, epoch ms or Date) as `YYYY-MM-DD HH:MM:SS` UTC, or '—'. */
export function fmtDate(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const d = v instanceof Date ? v : new Date(v as string | number);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Milliseconds as a short duration (`850ms`, `12.3s`, `4m 2s`, `3h 10m`, `2d 4h`). */
export function fmtDuration(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A number with up to `digits` decimals, or '—'. */
export function fmtNum(v: unknown, digits = 3): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(Number(v.toFixed(digits)));
}

/** A 0..1 share as a percentage. */
export function fmtPct(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(v >= 0.1 || v === 0 ? 0 : 1)}%`;
}

/** Arrays from an endpoint that answers either `T[]` or `{ <key>: T[] }`. */
export function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object' && Array.isArray((body as Record<string, unknown>)[key])) {
    return (body as Record<string, T[]>)[key]!;
  }
  return [];
}
