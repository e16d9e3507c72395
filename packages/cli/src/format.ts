import { formatDuration, type JobInfo, type JobRunRecord, type Trigger } from '@tip/core';

/** A trigger in human form: `every 20s`, `cron * * * * * (UTC)`, `at 2025-01-01 00:00:00`, `after job.group.completed (filtered)`. */
export function formatTrigger(t: Trigger): string {
  if ('every' in t) return `every ${typeof t.every === 'number' ? formatDuration(t.every) : t.every}${t.immediate === false ? ' (not at start)' : ''}`;
  if ('cron' in t) return `cron ${t.cron}${t.tz ? ` (${t.tz})` : ''}`;
  if ('at' in t) return `at ${formatTime(new Date(t.at))}`;
  if ('after' in t) return `after ${t.after}${t.when ? ' (filtered)' : ''}`;
  return JSON.stringify(t);
}

/** Every trigger of a job, comma-separated; `manual` when it has none. */
export function formatTriggers(triggers: readonly Trigger[]): string {
  return triggers.length === 0 ? 'manual' : triggers.map(formatTrigger).join(', ');
}

/** A trigger as JSON for `--json` output and the status API (functions dropped, durations kept as written). */
export function triggerJson(t: Trigger): Record<string, unknown> {
  const out: Record<string, unknown> = { ...t, text: formatTrigger(t) };
  if ('when' in out) {
    delete out.when;
    out.filtered = true;
  }
  if ('at' in t) out.at = new Date(t.at).toISOString();
  return out;
}

/** A local time as `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(date: Date | undefined): string {
  if (!date || Number.isNaN(date.getTime())) return '-';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** A time with its distance from `now`: `2025-01-01 10:00:00 (3m ago)`, `… (in 20s)`. */
export function formatWhen(date: Date | undefined, now = Date.now()): string {
  if (!date || Number.isNaN(date.getTime())) return '-';
  const delta = date.getTime() - now;
  const rel = Math.abs(delta) < 1000 ? 'now' : delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
  return `${formatTime(date)} (${rel})`;
}

/** Counters as `records=42 invalid=1`. */
export function formatCounts(counts: Record<string, number> | undefined): string {
  if (!counts) return '';
  return Object.entries(counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** A plain-text table: a header row, a rule, then the rows; columns padded to their widest cell. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** JSON with `Date`s as ISO strings, indented, ending with a newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A scheduler job as JSON: {@link JobInfo} with triggers in {@link triggerJson} form. */
export function jobInfoJson(job: JobInfo): Record<string, unknown> {
  return {
    id: job.id,
    plugin: job.plugin ?? null,
    group: job.group,
    description: job.description ?? null,
    triggers: job.triggers.map(triggerJson),
    running: job.running,
    nextRunAt: job.nextRunAt ?? null,
    lastRun: job.lastRun ?? null,
  };
}

/** The human form of a run record and its children's outcomes. */
export function describeRun(record: JobRunRecord, children: readonly JobRunRecord[]): string {
  const lines = [`job ${record.jobId}: ${record.status}`];
  lines.push(`  run       ${record.id} (${record.reason}, attempt ${record.attempt})`);
  lines.push(`  started   ${formatTime(record.startedAt)}`);
  if (record.durationMs !== undefined) lines.push(`  duration  ${formatDuration(record.durationMs)}`);
  if (record.counts && Object.keys(record.counts).length > 0) lines.push(`  counts    ${formatCounts(record.counts)}`);
  if (record.error) lines.push(`  error     ${record.error}`);
  let out = lines.join('\n') + '\n';
  if (children.length > 0) {
    const rows = children.map((c) => [c.jobId, c.status, c.durationMs === undefined ? '-' : formatDuration(c.durationMs), formatCounts(c.counts), c.error ?? '']);
    out += '\n' + table(['CHILD', 'STATUS', 'DURATION', 'COUNTS', 'ERROR'], rows);
  }
  return out;
}
