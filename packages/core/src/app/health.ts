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
