import type { ServiceStatus } from '../services/types.js';
import type { AppRole } from './types.js';

/** The database part of {@link AppHealth}. */
export interface DatabaseHealth {
  /** The database answered `select 1` in time. */
  ok: boolean;
  /** How long the check took. */
  latencyMs: number;
  /** Why it is not ok. */
  error?: string;
}

/** The app's health, as `/healthz` reports it. */
export interface AppHealth {
  /** True when the app is started, its database answers and every service is ok. */
  ok: boolean;
  /** The app's lifecycle state. */
  state: string;
  /** The database check (absent before the database is open). */
  database?: DatabaseHealth;
  /**
   * Which process answers: its worker id (absent before it registered, and in `read` mode, which
   * registers none) and its role in the deployment.
   */
  worker: {
    /** Its worker id (`tip_worker.id`, a UUID). */
    id?: string;
    /** Its role (`all`, `worker` or `web`). */
    role: AppRole;
  };
  /** Every service of this process (those its role runs) with its health. */
  services: ServiceStatus[];
}

/** What `/healthz` answers (JSON): the app's health summed up, with the reasons it is not ok. */
export interface HealthzBody {
  /** True when the app is started, its database answers and every service of this process is ok (status 200; else 503). */
  ok: boolean;
  /** The app's lifecycle state. */
  state: string;
  /** Which process answers: its worker id and role. */
  worker: AppHealth['worker'];
  /** Why it is not ok, one line per problem (empty when it is). */
  reasons: string[];
  /** The database check. */
  database?: AppHealth['database'];
  /** The services of this process with their health. */
  services: AppHealth['services'];
}

/**
 * Why the app is not healthy, one line per problem (empty when it is): the app's state, the
 * database check, each failing service. What `/healthz` of the CLI status server and of `@tip/web` says.
 */
export function unhealthyReasons(health: AppHealth): string[] {
  const reasons: string[] = [];
  if (health.state !== 'started') reasons.push(`app ${health.state}`);
  if (health.database && !health.database.ok) reasons.push(`database: ${health.database.error ?? 'not ok'}`);
  else if (!health.database && health.state === 'started') reasons.push('database: not open');
  for (const s of health.services) {
    if (!s.health.ok) reasons.push(`service ${s.id} ${s.state}${s.health.detail ? `: ${s.health.detail}` : s.lastError ? `: ${s.lastError}` : ''}`);
  }
  if (reasons.length === 0 && !health.ok) reasons.push('not ok');
  return reasons;
}

/** The `/healthz` body of an app's health (status 200 when `ok`, else 503). */
export function healthzBody(health: AppHealth): HealthzBody {
  return { ok: health.ok, state: health.state, worker: health.worker, reasons: unhealthyReasons(health), database: health.database, services: health.services };
}
