import { defineEntity, p, sqlMigration, type InferEntity } from '@tip/core';

/** One value as one source reported it: the latest sighting and how often it was seen. */
export const Sighting = defineEntity({
  name: 'AcmeSighting',
  tableName: 'acme_sighting',
  properties: {
    source: p.string().primary().length(100),
    value: p.string().primary().length(2000),
    type: p.string().length(10),
    confidence: p.integer(),
    note: p.string().length(200),
    firstSeen: p.datetime(),
    lastSeen: p.datetime(),
    /** Runs that listed it. */
    runs: p.integer(),
  },
});
/** A row of {@link Sighting}. */
export type SightingRow = InferEntity<typeof Sighting>;

/** The plugin's schema, one statement list per dialect (its test checks it matches the entity). */
export const sightingMigrations = [
  sqlMigration('0001-sightings', {
    sqlite: [
      'create table `acme_sighting` (`source` text not null, `value` text not null, `type` text not null, `confidence` integer not null, `note` text not null, `first_seen` datetime not null, `last_seen` datetime not null, `runs` integer not null, primary key (`source`, `value`))',
    ],
    postgresql: [
      'create table "acme_sighting" ("source" varchar(100) not null, "value" varchar(2000) not null, "type" varchar(10) not null, "confidence" int not null, "note" varchar(200) not null, "first_seen" timestamptz not null, "last_seen" timestamptz not null, "runs" int not null, primary key ("source", "value"))',
    ],
  }),
];
