import { defineEntity, p, sqlMigration, type InferEntity } from '@tip/core';

/** One Tor exit relay address as one source lists it (kept, unlisted, once the source drops it). */
export const TorExit = defineEntity({
  name: 'AcmeTorExit',
  tableName: 'acme_tor_exit',
  properties: {
    source: p.string().primary().length(200),
    ip: p.string().primary().length(45),
    firstSeen: p.datetime(),
    lastSeen: p.datetime(),
    listed: p.boolean(),
  },
});
/** A row of {@link TorExit}. */
export type TorExitRow = InferEntity<typeof TorExit>;

/** The plugin's schema, one statement list per dialect (a test checks it matches the entity). */
export const torExitMigrations = [
  sqlMigration('0001-exits', {
    sqlite: [
      'create table `acme_tor_exit` (`source` text not null, `ip` text not null, `first_seen` datetime not null, `last_seen` datetime not null, `listed` integer not null, primary key (`source`, `ip`))',
    ],
    postgresql: [
      'create table "acme_tor_exit" ("source" varchar(200) not null, "ip" varchar(45) not null, "first_seen" timestamptz not null, "last_seen" timestamptz not null, "listed" boolean not null, primary key ("source", "ip"))',
    ],
  }),
];
