import { sqlMigration, type TipMigration } from '@tip/core';

/**
 * Deletes every open listing that has an older open sibling of the same source and indicator
 * (window function: one pass over the open listings on both dialects, not a correlated subquery).
 */
const DELETE_DUPLICATE_OPEN_LISTINGS = `delete from bl_listing where id in (
  select id from (
    select id, row_number() over (partition by source_id, indicator_id order by first_seen, id) as rn
    from bl_listing where removed_at is null
  ) ranked where rn > 1)`;

/**
 * Gives every open listing of a submitted source (origin `plugin`) without a last-seen the
 * source's last success (else its own first-seen) as last-seen.
 */
const BACKFILL_SUBMITTED_LAST_SEEN = `update bl_listing
  set last_seen = (select coalesce(s.last_success_at, bl_listing.first_seen) from bl_source s where s.id = bl_listing.source_id)
  where removed_at is null and last_seen is null and source_id in (select id from bl_source where origin = 'plugin')`;

/** Schema migrations of the blacklist plugin (generated from the entities, then frozen). */
export const blacklistMigrations: readonly TipMigration[] = [
  sqlMigration('0001-blacklist', {
    sqlite: [
      "create table `bl_indicator` (`id` integer not null primary key autoincrement, `type` text not null, `value` text not null, `first_seen` bigint not null)",
      "create unique index `bl_indicator_type_value_unique` on `bl_indicator` (`type`, `value`)",
      "create table `bl_listing` (`id` integer not null primary key autoincrement, `source_id` text not null, `indicator_id` integer not null, `first_seen` bigint not null, `last_seen` bigint null, `removed_at` bigint null)",
      "create index `bl_listing_source_open_index` on `bl_listing` (`source_id`, `removed_at`)",
      "create index `bl_listing_indicator_index` on `bl_listing` (`indicator_id`)",
      "create table `bl_snapshot` (`source_id` text not null primary key, `count` integer not null, `sha256` text not null, `data` blob not null, `delta_entries` integer not null, `updated_at` bigint not null)",
      "create table `bl_snapshot_delta` (`id` integer not null primary key autoincrement, `source_id` text not null, `added` blob not null, `removed` blob not null, `created_at` bigint not null)",
      "create index `bl_snapshot_delta_source_index` on `bl_snapshot_delta` (`source_id`)",
      "create table `bl_source` (`id` text not null primary key, `title` text not null, `url` text null, `format` text not null, `category` text not null, `license` text null, `origin` text not null, `enabled` integer not null, `created_at` bigint not null, `last_run_at` bigint null, `last_success_at` bigint null)",
      "create table `bl_source_metric` (`id` integer not null primary key autoincrement, `source_id` text not null, `computed_at` bigint not null, `window_ms` bigint not null, `volume` integer not null, `exclusive` double not null, `latency_median_ms` double null, `persistence_median_ms` double null, `churn` double not null, `false_positive_rate` double not null, `availability` double null, `freshness_ms` double null, `weight` double not null, `overlap` json not null, `differential` json not null)",
      "create index `bl_source_metric_source_computed_index` on `bl_source_metric` (`source_id`, `computed_at`)",
      "create table `bl_source_run` (`id` integer not null primary key autoincrement, `source_id` text not null, `job_run_id` text null, `status` text not null, `started_at` bigint not null, `ended_at` bigint not null, `duration_ms` integer not null, `http_status` integer null, `bytes` bigint not null, `records` integer not null, `added` integer not null, `removed` integer not null, `unchanged` integer not null, `invalid` integer not null, `invalid_samples` json null, `error` text null)",
      "create index `bl_source_run_source_started_index` on `bl_source_run` (`source_id`, `started_at`)",
    ],
    postgresql: [
      "create table \"bl_indicator\" (\"id\" serial primary key, \"type\" varchar(8) not null, \"value\" varchar(2048) not null, \"first_seen\" bigint not null)",
      "alter table \"bl_indicator\" add constraint \"bl_indicator_type_value_unique\" unique (\"type\", \"value\")",
      "create table \"bl_listing\" (\"id\" serial primary key, \"source_id\" varchar(200) not null, \"indicator_id\" int not null, \"first_seen\" bigint not null, \"last_seen\" bigint null, \"removed_at\" bigint null)",
      "create index \"bl_listing_source_open_index\" on \"bl_listing\" (\"source_id\", \"removed_at\")",
      "create index \"bl_listing_indicator_index\" on \"bl_listing\" (\"indicator_id\")",
      "create table \"bl_snapshot\" (\"source_id\" varchar(200) not null, \"count\" int not null, \"sha256\" varchar(64) not null, \"data\" bytea not null, \"delta_entries\" int not null, \"updated_at\" bigint not null, primary key (\"source_id\"))",
      "create table \"bl_snapshot_delta\" (\"id\" serial primary key, \"source_id\" varchar(200) not null, \"added\" bytea not null, \"removed\" bytea not null, \"created_at\" bigint not null)",
      "create index \"bl_snapshot_delta_source_index\" on \"bl_snapshot_delta\" (\"source_id\")",
      "create table \"bl_source\" (\"id\" varchar(200) not null, \"title\" varchar(500) not null, \"url\" text null, \"format\" varchar(50) not null, \"category\" varchar(50) not null, \"license\" text null, \"origin\" varchar(20) not null, \"enabled\" boolean not null, \"created_at\" bigint not null, \"last_run_at\" bigint null, \"last_success_at\" bigint null, primary key (\"id\"))",
      "create table \"bl_source_metric\" (\"id\" serial primary key, \"source_id\" varchar(200) not null, \"computed_at\" bigint not null, \"window_ms\" bigint not null, \"volume\" int not null, \"exclusive\" double precision not null, \"latency_median_ms\" double precision null, \"persistence_median_ms\" double precision null, \"churn\" double precision not null, \"false_positive_rate\" double precision not null, \"availability\" double precision null, \"freshness_ms\" double precision null, \"weight\" double precision not null, \"overlap\" jsonb not null, \"differential\" jsonb not null)",
      "create index \"bl_source_metric_source_computed_index\" on \"bl_source_metric\" (\"source_id\", \"computed_at\")",
      "create table \"bl_source_run\" (\"id\" serial primary key, \"source_id\" varchar(200) not null, \"job_run_id\" varchar(36) null, \"status\" varchar(16) not null, \"started_at\" bigint not null, \"ended_at\" bigint not null, \"duration_ms\" int not null, \"http_status\" int null, \"bytes\" bigint not null, \"records\" int not null, \"added\" int not null, \"removed\" int not null, \"unchanged\" int not null, \"invalid\" int not null, \"invalid_samples\" jsonb null, \"error\" text null)",
      "create index \"bl_source_run_source_started_index\" on \"bl_source_run\" (\"source_id\", \"started_at\")",
    ],
  }),
  // A source has at most one open listing per indicator. Two concurrent ingestions of one source
  // (before they were serialised) could both open a listing for the same new indicator; those
  // duplicates are repaired first so the unique index can be created. Repair: per (source,
  // indicator), the open listing with the earliest first_seen (then lowest id) is kept and the
  // other open ones are deleted. They carry no history of their own — same source, same indicator,
  // a later first_seen, still open, so their period lies inside the kept one's — and closing them
  // instead would invent removals that never happened (zero-length listings counted as churn).
  sqlMigration('0002-one-open-listing', {
    sqlite: [
      DELETE_DUPLICATE_OPEN_LISTINGS,
      "create unique index `bl_listing_source_indicator_open_unique` on `bl_listing` (`source_id`, `indicator_id`) where `removed_at` is null",
    ],
    postgresql: [
      DELETE_DUPLICATE_OPEN_LISTINGS,
      "create unique index \"bl_listing_source_indicator_open_unique\" on \"bl_listing\" (\"source_id\", \"indicator_id\") where \"removed_at\" is null",
    ],
  }),
  // Address-level metrics and what the weights step needs to reuse a computation when no source
  // changed: the entry-level figures not stored before (overlapExact, latencyMeanMs) and the
  // fingerprint of the inputs. All nullable: rows stored before have none.
  sqlMigration('0003-address-metrics', {
    sqlite: [
      'alter table `bl_source_metric` add column `addresses` json null',
      'alter table `bl_source_metric` add column `overlap_exact` json null',
      'alter table `bl_source_metric` add column `latency_mean_ms` double null',
      'alter table `bl_source_metric` add column `fingerprint` text null',
    ],
    postgresql: [
      'alter table "bl_source_metric" add column "addresses" jsonb null',
      'alter table "bl_source_metric" add column "overlap_exact" jsonb null',
      'alter table "bl_source_metric" add column "latency_mean_ms" double precision null',
      'alter table "bl_source_metric" add column "fingerprint" text null',
    ],
  }),
  // Submitted (delta) sources keep a last-seen per listing so an indicator not submitted again
  // ages and decays; before, their open listings read the source's last success, refreshed by
  // any submission. Open listings of plugin sources start from that value (what they showed).
  // `ttl_ms`: a submitted source's optional ttl, after which the cycle closes stale listings.
  sqlMigration('0004-submitted-last-seen', {
    sqlite: ['alter table `bl_source` add column `ttl_ms` bigint null', BACKFILL_SUBMITTED_LAST_SEEN],
    postgresql: ['alter table "bl_source" add column "ttl_ms" bigint null', BACKFILL_SUBMITTED_LAST_SEEN],
  }),
  // Search by address range (web API): every ip/cidr indicator gets its range as fixed-width
  // sortable keys — family digit + zero-padded hex of the first and last address ("4" + 8 hex
  // digits, "6" + 32) — so "every listed ip/cidr inside 10.0.0.0/8" is one index range scan on
  // addr_lo (keyset (addr_lo, id)). Filled after ingestion (rows with a null addr_lo are found
  // through a partial index; other types get an empty key, so that a null means "not filled yet"
  // and the planner knows there are few), so existing rows are filled by the first ingestion or search.
  // PostgreSQL compares the keys byte-wise (collate "C") whatever the database collation.
  // bl_cycle: one row per blacklist cycle (listed total, added, removed) for the timeline.
  sqlMigration('0005-address-keys', {
    sqlite: [
      'alter table `bl_indicator` add column `addr_lo` text null',
      'alter table `bl_indicator` add column `addr_hi` text null',
      'create index `bl_indicator_addr_index` on `bl_indicator` (`addr_lo`, `id`) where `addr_lo` is not null',
      'create index `bl_indicator_addr_pending_index` on `bl_indicator` (`id`) where `addr_lo` is null',
      'create table `bl_cycle` (`id` integer not null primary key autoincrement, `cycle_id` text not null, `at` bigint not null, `listed` integer not null, `added` integer not null, `removed` integer not null, `sources` integer not null, `succeeded` integer not null, `failed` integer not null)',
      'create index `bl_cycle_at_index` on `bl_cycle` (`at`)',
    ],
    postgresql: [
      'alter table "bl_indicator" add column "addr_lo" varchar(33) collate "C" null',
      'alter table "bl_indicator" add column "addr_hi" varchar(33) collate "C" null',
      'create index "bl_indicator_addr_index" on "bl_indicator" ("addr_lo", "id") where "addr_lo" is not null',
      'create index "bl_indicator_addr_pending_index" on "bl_indicator" ("id") where "addr_lo" is null',
      'create table "bl_cycle" ("id" serial primary key, "cycle_id" varchar(100) not null, "at" bigint not null, "listed" int not null, "added" int not null, "removed" int not null, "sources" int not null, "succeeded" int not null, "failed" int not null)',
      'create index "bl_cycle_at_index" on "bl_cycle" ("at")',
    ],
  }),
];
