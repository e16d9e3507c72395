// Shapes of the API answers the UI reads (see contract.md). Only the fields shown are typed.

/** A job run (GET /api/runs). */
export interface RunRecord {
  id: string;
  jobId: string;
  parentId?: string;
  plugin?: string;
  reason?: string;
  status: string;
  attempt?: number;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  error?: string;
  counts?: Record<string, number>;
  workerId?: string;
}

/** A job (GET /api/jobs). */
export interface JobInfo {
  id: string;
  description?: string;
  plugin?: string;
  group: boolean;
  triggers: unknown[];
  running: boolean;
  nextRunAt?: string;
  lastRun?: { id: string; status: string; startedAt?: string; endedAt?: string };
}

/** A worker (GET /api/workers). */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  mode: string;
  role?: string;
  scheduling: boolean;
  version: string;
  leaseMs: number;
  startedAt: string;
  heartbeatAt: string;
  stoppedAt?: string;
}

/** What both source answers (the list and one source in detail) tell about a blacklist source. */
export interface SourceBase {
  id: string;
  title: string;
  /** `kind` per contract.md; the blacklist plugin sends `origin`. */
  kind?: string;
  origin?: string;
  category: string;
  url?: string;
  enabled: boolean;
  [k: string]: unknown;
}

/** A blacklist source (GET /api/blacklist/sources). */
export interface SourceInfo extends SourceBase {
  listed: number;
  lastRunAt?: number | string;
  lastRun: { runId?: string; at?: string; startedAt?: number | string; endedAt?: number | string; status?: string; added?: number; removed?: number; error?: string | null; [k: string]: unknown } | null;
  metrics: SourceMetrics | null;
}

/** One blacklist source in detail (GET /api/blacklist/sources/:id). */
export interface SourceDetailData extends SourceBase {
  listed?: number;
  license?: string;
  runs?: { runId: string; at: string; status: string; added?: number; removed?: number; records?: number; invalid?: number; durationMs?: number; httpStatus?: number | null; error?: string | null; [k: string]: unknown }[];
  metricsHistory?: { at: string | number; weight?: number; volume?: number; [k: string]: unknown }[];
  history?: { at: string | number; weight?: number; volume?: number }[];
  metrics?: Record<string, unknown> | null;
}

/** Metrics and weight of a source (GET /api/blacklist/weights, sources[].metrics). */
export interface SourceMetrics {
  source: string;
  weight: number;
  volume?: number;
  exclusive?: number;
  churn?: number;
  falsePositiveRate?: number | null;
  availability?: number | null;
  freshnessMs?: number | null;
  latencyMedianMs?: number | null;
  persistenceMedianMs?: number | null;
  computedAt?: number | string;
  [k: string]: unknown;
}

/** GET /api/blacklist/search. */
export interface SearchPage {
  items: { type: string; value: string; score: number; sources: { id: string; title: string }[]; firstSeen: string; lastSeen: string }[];
  nextCursor: string | null;
  total?: number;
  /** The page ended early (a bounded scan); the cursor goes on. */
  truncated?: boolean;
}

/** One listing in a verdict entry. */
export interface VerdictListing {
  source: string;
  title: string;
  category: string;
  enabled: boolean;
  counted: boolean;
  listedSince: string;
  lastSeen: string;
  ageMs: number;
  decayFactor: number;
  weight: number;
}

/** One entry (exact or related) of a verdict. */
export interface VerdictEntry {
  indicator: { type: string; value: string };
  match: string;
  score: number;
  baseScore: number;
  lastSeen: string | null;
  decayFactor: number;
  firstSeen: string;
  listings: VerdictListing[];
  allowlisted: unknown;
}

/** GET /api/blacklist/explain/:value. */
export interface Verdict {
  input: string;
  indicator: { type: string; value: string };
  computedAt: string;
  score: number;
  listed: boolean;
  exported: boolean;
  allowlisted: unknown;
  exact: VerdictEntry | null;
  related: VerdictEntry[];
  relatedScore: number;
  sources: { id: string; title: string; category: string; enabled: boolean; weight: number; weightFrom: string }[];
  combination: string;
}
