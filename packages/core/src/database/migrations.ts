import { TipError, TipErrorCodes } from '../errors/TipError.js';

/** The SQL dialects TIP runs on. */
export type Dialect = 'sqlite' | 'postgresql';

/** What a migration's `up` receives. */
export interface MigrationContext {
  /** The database dialect, for dialect-specific SQL. */
  readonly dialect: Dialect;
  /** Runs one SQL statement inside the migration's transaction. */
  execute(sql: string, params?: unknown[]): Promise<unknown[]>;
}

/**
 * A schema migration contributed by core or a plugin. Names are unique per owner and applied in
 * registration order; the owner (plugin name) is prefixed to the stored name.
 */
export interface TipMigration {
  /** Stable name, e.g. `'0001-initial'`. Never rename a released migration. */
  readonly name: string;
  /** Applies the change. Runs in a transaction with every other pending migration. */
  up(ctx: MigrationContext): Promise<void> | void;
}

/**
 * Builds a {@link TipMigration} from plain SQL per dialect (statements run in order).
 *
 * @example
 * ```ts
 * sqlMigration('0001-initial', {
 *   sqlite: ['create table foo (id integer primary key)'],
 *   postgresql: ['create table foo (id serial primary key)'],
 * })
 * ```
 */
export function sqlMigration(name: string, sql: Record<Dialect, readonly string[]>): TipMigration {
  return {
    name,
    async up(ctx) {
      const statements = sql[ctx.dialect];
      if (!statements) {
        throw new TipError(TipErrorCodes.DB_FAILED, `migration "${name}" has no SQL for dialect ${ctx.dialect}`, {
          details: { migration: name, dialect: ctx.dialect },
        });
      }
      for (const statement of statements) await ctx.execute(statement);
    },
  };
}

/** Core's own tables: job runs, job plan state, source state, workers. */
export const coreMigrations: readonly TipMigration[] = [
  sqlMigration('0001-kernel', {
    sqlite: [
      'create table `tip_job_run` (`id` text not null primary key, `job_id` text not null, `parent_id` text null, `plugin` text null, `reason` text not null, `status` text not null, `attempt` integer not null, `started_at` datetime not null, `ended_at` datetime null, `duration_ms` integer null, `error` text null, `counts` json null)',
      'create index `tip_job_run_job_id_index` on `tip_job_run` (`job_id`)',
      'create index `tip_job_run_parent_id_index` on `tip_job_run` (`parent_id`)',
      'create index `tip_job_run_started_at_index` on `tip_job_run` (`started_at`)',
      'create table `tip_job_state` (`job_id` text not null primary key, `last_run_id` text null, `last_status` text null, `last_started_at` datetime null, `last_ended_at` datetime null, `next_run_at` datetime null, `updated_at` datetime not null)',
      'create table `tip_source_state` (`source_id` text not null, `key` text not null, `value` json not null, `updated_at` datetime not null, primary key (`source_id`, `key`))',
    ],
    postgresql: [
      'create table "tip_job_run" ("id" varchar(36) not null, "job_id" varchar(200) not null, "parent_id" varchar(36) null, "plugin" varchar(200) null, "reason" varchar(32) not null, "status" varchar(16) not null, "attempt" int not null, "started_at" timestamptz not null, "ended_at" timestamptz null, "duration_ms" int null, "error" text null, "counts" jsonb null, primary key ("id"))',
      'create index "tip_job_run_job_id_index" on "tip_job_run" ("job_id")',
      'create index "tip_job_run_parent_id_index" on "tip_job_run" ("parent_id")',
      'create index "tip_job_run_started_at_index" on "tip_job_run" ("started_at")',
      'create table "tip_job_state" ("job_id" varchar(200) not null, "last_run_id" varchar(36) null, "last_status" varchar(16) null, "last_started_at" timestamptz null, "last_ended_at" timestamptz null, "next_run_at" timestamptz null, "updated_at" timestamptz not null, primary key ("job_id"))',
      'create table "tip_source_state" ("source_id" varchar(200) not null, "key" varchar(500) not null, "value" jsonb not null, "updated_at" timestamptz not null, primary key ("source_id", "key"))',
    ],
  }),
  // Issue [5/8]: several workers on one database. Each app that runs jobs registers a row in
  // `tip_worker` and heartbeats it; the runs it records carry its id, so a worker starting (or
  // sweeping) marks aborted only runs whose owner stopped or whose lease expired.
  sqlMigration('0002-workers', {
    sqlite: [
      'create table `tip_worker` (`id` text not null primary key, `host` text not null, `pid` integer not null, `mode` text not null, `scheduling` integer not null, `version` text not null, `lease_ms` integer not null, `started_at` datetime not null, `heartbeat_at` datetime not null, `stopped_at` datetime null)',
      'alter table `tip_job_run` add column `worker_id` text null',
      'create index `tip_job_run_status_index` on `tip_job_run` (`status`)',
    ],
    postgresql: [
      'create table "tip_worker" ("id" varchar(36) not null, "host" varchar(255) not null, "pid" int not null, "mode" varchar(16) not null, "scheduling" boolean not null, "version" varchar(64) not null, "lease_ms" int not null, "started_at" timestamptz not null, "heartbeat_at" timestamptz not null, "stopped_at" timestamptz null, primary key ("id"))',
      'alter table "tip_job_run" add column "worker_id" varchar(36) null',
      'create index "tip_job_run_status_index" on "tip_job_run" ("status")',
    ],
  }),
  // Roles: a deployment split into `worker` and `web` processes records each worker's role, so
  // `tip status` and `tip trigger` can tell processes that take jobs from those that only enqueue.
  // Null for rows written before roles.
  sqlMigration('0003-worker-role', {
    sqlite: ['alter table `tip_worker` add column `role` text null'],
    postgresql: ['alter table "tip_worker" add column "role" varchar(16) null'],
  }),
  // Issue [5/8]: the pg-boss backend. A schedule slot is claimed by compare-and-set on next_run_at,
  // recording the run that took it (claimed_run_id); a group's fan-in counts its children's ends.
  sqlMigration('0004-cluster-scheduler', {
    sqlite: [
      'alter table `tip_job_state` add column `claimed_run_id` text null',
      'create table `tip_job_group` (`run_id` text not null primary key, `job_id` text not null, `total` integer not null, `ended` integer not null, `failed` integer not null, `children` json not null, `created_at` datetime not null, `completed_at` datetime null)',
    ],
    postgresql: [
      'alter table "tip_job_state" add column "claimed_run_id" varchar(36) null',
      'create table "tip_job_group" ("run_id" varchar(36) not null, "job_id" varchar(200) not null, "total" int not null, "ended" int not null, "failed" int not null, "children" jsonb not null, "created_at" timestamptz not null, "completed_at" timestamptz null, primary key ("run_id"))',
    ],
  }),
];
