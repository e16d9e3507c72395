import { formatDuration, type JobInfo, type JobRunRecord } from '@tip/core';
import { formatCounts, formatTime, formatTriggers, formatWhen } from './format.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the status page shows. */
export interface StatusPageData {
  /** Every job, in display order. */
  jobs: readonly JobInfo[];
  /** The latest runs, newest first. */
  runs: readonly JobRunRecord[];
  /** The time the page is rendered at (epoch ms), for relative times. */
  now: number;
  /** App lifecycle state, shown in the header. */
  state: string;
  /** The page reloads itself after this many seconds. */
  refreshSeconds: number;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d232b;background:#f7f8fa}
h1{font-size:1.3rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1.6rem 0 .5rem}
.sub{color:#5b6573;margin:0}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12.5px}.st{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:12px;background:#e3e6ea}
.succeeded{background:#d5f2dc;color:#135c26}.failed,.timeout{background:#fadadd;color:#8a1c24}
.partial{background:#fdf0c8;color:#6b5200}.aborted{background:#e6e0f5;color:#4a3a7a}.running{background:#d7e8fb;color:#174a80}
.err{color:#8a1c24;max-width:40rem;overflow-wrap:anywhere}.muted{color:#8b95a1}.child{padding-left:1.4rem}
footer{margin-top:1.5rem;color:#8b95a1;font-size:12px}a{color:#174a80}`;

function status(s: string | undefined): string {
  return s ? `<span class="st ${escapeHtml(s)}">${escapeHtml(s)}</span>` : '<span class="muted">never</span>';
}

function time(date: Date | undefined, now: number): string {
  return date ? `<span title="${escapeHtml(date.toISOString())}">${escapeHtml(formatWhen(date, now))}</span>` : '<span class="muted">-</span>';
}

/** Renders the self-contained status page (inline CSS, no scripts, refreshes itself). */
export function renderStatusPage(data: StatusPageData): string {
  const { now } = data;
  const jobRows = data.jobs
    .map(
      (j) => `<tr><td><code>${escapeHtml(j.id)}</code>${j.description ? `<br><span class="muted">${escapeHtml(j.description)}</span>` : ''}</td>
<td>${escapeHtml(j.plugin ?? '-')}</td><td>${escapeHtml(formatTriggers(j.triggers))}${j.group ? ' <span class="muted">(group)</span>' : ''}</td>
<td>${j.running ? status('running') : '<span class="muted">no</span>'}</td><td>${time(j.nextRunAt, now)}</td>
<td>${status(j.lastRun?.status)} ${j.lastRun ? time(j.lastRun.endedAt ?? j.lastRun.startedAt, now) : ''}</td></tr>`,
    )
    .join('\n');
  const runRows = data.runs
    .map(
      (r) => `<tr><td class="${r.parentId ? 'child' : ''}"><code>${escapeHtml(r.jobId)}</code></td><td>${status(r.status)}</td>
<td>${escapeHtml(r.reason)}</td><td title="${escapeHtml(r.startedAt.toISOString())}">${escapeHtml(formatTime(r.startedAt))}</td>
<td class="num">${r.durationMs === undefined ? '-' : escapeHtml(formatDuration(r.durationMs))}</td>
<td><code>${escapeHtml(formatCounts(r.counts))}</code></td><td class="err">${escapeHtml(r.error ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${data.refreshSeconds}"><title>TIP status</title><style>${STYLE}</style></head>
<body><h1>TIP — Tracking Intelligence Project</h1>
<p class="sub">App ${escapeHtml(data.state)} · ${data.jobs.length} job(s) · page generated ${escapeHtml(formatTime(new Date(now)))}, refreshes every ${data.refreshSeconds}s</p>
<h2>Jobs</h2>
<table><thead><tr><th>Job</th><th>Plugin</th><th>Triggers</th><th>Running</th><th>Next run</th><th>Last run</th></tr></thead>
<tbody>${jobRows || '<tr><td colspan="6" class="muted">no jobs</td></tr>'}</tbody></table>
<h2>Latest runs</h2>
<table><thead><tr><th>Job</th><th>Status</th><th>Reason</th><th>Started</th><th>Duration</th><th>Counts</th><th>Error</th></tr></thead>
<tbody>${runRows || '<tr><td colspan="7" class="muted">no runs yet</td></tr>'}</tbody></table>
<footer>JSON: <a href="/api/jobs">/api/jobs</a> · <a href="/api/runs">/api/runs</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></footer>
</body></html>
`;
}
