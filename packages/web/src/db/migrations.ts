import { sqlMigration, type TipMigration } from '@tip/core';

/**
 * Schema migrations of the web plugin: API tokens, UI users and their sessions; failed
 * authentication counters. Append-only: never edit a released migration, add the next one.
 */
export const webMigrations: readonly TipMigration[] = [
  sqlMigration('0001-web-auth', {
    sqlite: [
      'create table `web_token` (`id` text not null primary key, `name` text not null, `hash` text not null, `scopes` text not null, `created_at` bigint not null, `last_used_at` bigint null, `revoked_at` bigint null)',
      'create table `web_user` (`name` text not null primary key, `hash` text not null, `scopes` text not null, `created_at` bigint not null)',
      'create table `web_session` (`id` text not null primary key, `user_name` text not null, `csrf_secret` text not null, `created_at` bigint not null, `expires_at` bigint not null)',
      'create index `web_session_user_index` on `web_session` (`user_name`)',
    ],
    postgresql: [
      'create table "web_token" ("id" varchar(32) not null, "name" varchar(200) not null, "hash" varchar(64) not null, "scopes" varchar(100) not null, "created_at" bigint not null, "last_used_at" bigint null, "revoked_at" bigint null, primary key ("id"))',
      'create table "web_user" ("name" varchar(100) not null, "hash" varchar(300) not null, "scopes" varchar(100) not null, "created_at" bigint not null, primary key ("name"))',
      'create table "web_session" ("id" varchar(64) not null, "user_name" varchar(100) not null, "csrf_secret" varchar(64) not null, "created_at" bigint not null, "expires_at" bigint not null, primary key ("id"))',
      'create index "web_session_user_index" on "web_session" ("user_name")',
    ],
  }),
  // Failed logins and bearer authentications per client, shared by every web process (AuthFailures).
  sqlMigration('0002-web-auth-failures', {
    sqlite: [
      'create table `web_auth_failure` (`kind` text not null, `client` text not null, `failures` integer not null, `expires_at` bigint not null, primary key (`kind`, `client`))',
      'create index `web_auth_failure_expires_at_index` on `web_auth_failure` (`expires_at`)',
    ],
    postgresql: [
      'create table "web_auth_failure" ("kind" varchar(16) not null, "client" varchar(100) not null, "failures" integer not null, "expires_at" bigint not null, primary key ("kind", "client"))',
      'create index "web_auth_failure_expires_at_index" on "web_auth_failure" ("expires_at")',
    ],
  }),
];
