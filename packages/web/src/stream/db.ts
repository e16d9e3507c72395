import { defineEntity, p, sqlMigration, type TipMigration } from '@tip/core';

/** One recorded event (table `web_event`). @internal */
export const WebEventEntity = defineEntity({
  name: 'WebEvent',
  tableName: 'web_event',
  properties: {
    seq: p.bigint('number').primary().autoincrement(),
    type: p.string().length(200).index(),
    at: p.string().length(32),
    source: p.string().length(200).nullable(),
    data: p.text(),
  },
});

/** A webhook subscription (table `web_webhook`). @internal */
export const WebWebhookEntity = defineEntity({
  name: 'WebWebhook',
  tableName: 'web_webhook',
  properties: {
    id: p.string().primary().length(36),
    url: p.text(),
    secret: p.string().length(200),
    types: p.text(),
    createdAt: p.string().length(32),
    disabled: p.boolean(),
  },
});

/** One delivery of one event to one webhook (table `web_delivery`). @internal */
export const WebDeliveryEntity = defineEntity({
  name: 'WebDelivery',
  tableName: 'web_delivery',
  // the sender's query: due deliveries of a status, oldest due first
  indexes: [{ name: 'web_delivery_due_index', properties: ['status', 'nextAttemptAt'] }],
  properties: {
    id: p.string().primary().length(36),
    webhook: p.string().length(36).index(),
    eventSeq: p.bigint('number').index(),
    status: p.string().length(16),
    attempts: p.integer(),
    lastError: p.text().nullable(),
    nextAttemptAt: p.bigint('number'),
  },
});

/** Every entity of the stream. @internal */
export const streamEntities = [WebEventEntity, WebWebhookEntity, WebDeliveryEntity];

/** The stream's tables. @internal */
export const streamMigrations: readonly TipMigration[] = [
  sqlMigration('0001-stream', {
    sqlite: [
      'create table `web_event` (`seq` integer primary key autoincrement, `type` text not null, `at` text not null, `source` text null, `data` text not null)',
      'create index `web_event_type_index` on `web_event` (`type`)',
      'create table `web_webhook` (`id` text not null primary key, `url` text not null, `secret` text not null, `types` text not null, `created_at` text not null, `disabled` integer not null default 0)',
      'create table `web_delivery` (`id` text not null primary key, `webhook` text not null, `event_seq` integer not null, `status` text not null, `attempts` integer not null, `last_error` text null, `next_attempt_at` integer not null)',
      'create index `web_delivery_webhook_index` on `web_delivery` (`webhook`)',
      'create index `web_delivery_due_index` on `web_delivery` (`status`, `next_attempt_at`)',
      'create index `web_delivery_event_seq_index` on `web_delivery` (`event_seq`)',
    ],
    postgresql: [
      'create table "web_event" ("seq" bigserial primary key, "type" varchar(200) not null, "at" varchar(32) not null, "source" varchar(200) null, "data" text not null)',
      'create index "web_event_type_index" on "web_event" ("type")',
      'create table "web_webhook" ("id" varchar(36) not null primary key, "url" text not null, "secret" varchar(200) not null, "types" text not null, "created_at" varchar(32) not null, "disabled" boolean not null default false)',
      'create table "web_delivery" ("id" varchar(36) not null primary key, "webhook" varchar(36) not null, "event_seq" bigint not null, "status" varchar(16) not null, "attempts" integer not null, "last_error" text null, "next_attempt_at" bigint not null)',
      'create index "web_delivery_webhook_index" on "web_delivery" ("webhook")',
      'create index "web_delivery_due_index" on "web_delivery" ("status", "next_attempt_at")',
      'create index "web_delivery_event_seq_index" on "web_delivery" ("event_seq")',
    ],
  }),
  // 0001 wrote two things the entities do not say, which the schema diff would report forever:
  // `integer` for web_delivery's bigint columns on SQLite (the same INTEGER affinity: rebuilt
  // here, rows kept), and a default on web_webhook.disabled (every insert gives it; dropped).
  // What remains is inherent to one entity for two dialects: web_event.seq is a bigserial on
  // PostgreSQL and must be `integer primary key autoincrement` on SQLite, which the diff reads as
  // integer ≠ bigint (the schema test allows exactly that).
  sqlMigration('0002-stream-schema', {
    sqlite: [
      'create table `web_delivery__new` (`id` text not null primary key, `webhook` text not null, `event_seq` bigint not null, `status` text not null, `attempts` integer not null, `last_error` text null, `next_attempt_at` bigint not null)',
      'insert into `web_delivery__new` (`id`, `webhook`, `event_seq`, `status`, `attempts`, `last_error`, `next_attempt_at`) select `id`, `webhook`, `event_seq`, `status`, `attempts`, `last_error`, `next_attempt_at` from `web_delivery`',
      'drop table `web_delivery`',
      'alter table `web_delivery__new` rename to `web_delivery`',
      'create index `web_delivery_webhook_index` on `web_delivery` (`webhook`)',
      'create index `web_delivery_due_index` on `web_delivery` (`status`, `next_attempt_at`)',
      'create index `web_delivery_event_seq_index` on `web_delivery` (`event_seq`)',
      'create table `web_webhook__new` (`id` text not null primary key, `url` text not null, `secret` text not null, `types` text not null, `created_at` text not null, `disabled` integer not null)',
      'insert into `web_webhook__new` (`id`, `url`, `secret`, `types`, `created_at`, `disabled`) select `id`, `url`, `secret`, `types`, `created_at`, `disabled` from `web_webhook`',
      'drop table `web_webhook`',
      'alter table `web_webhook__new` rename to `web_webhook`',
    ],
    postgresql: ['alter table "web_webhook" alter column "disabled" drop default'],
  }),
];

/** A row of `web_event` as read. @internal */
export interface EventRowRaw {
  seq: number | string;
  type: string;
  at: string;
  source: string | null;
  data: string;
}

/** Advisory lock key serialising event inserts on PostgreSQL, so seq order is commit order. @internal */
export const EVENT_LOCK_KEY = 7_320_115_001;
