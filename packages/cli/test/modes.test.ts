import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { testDialects, testPostgresUrl } from '@tip/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, SPAWN_TEST_TIMEOUT, cleanup, fixtureConfig, requireBuild, spawnNode, tempDir, tip, tipInProcess, waitFor, waitForOutput } from './helpers.js';

beforeAll(requireBuild);
afterEach(cleanup);

/** A PostgreSQL URL of a database that does not exist (a fresh random name on the test server). */
function missingPostgresUrl(): { url: string; name: string } {
  const name = `tip_absent_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const url = new URL(testPostgresUrl());
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

/** Runs one query on the test server's admin database. */
async function adminQuery<R>(fn: (client: import('pg').Client) => Promise<R>): Promise<R> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: testPostgresUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** True when the test server has a database of that name. */
const postgresHas = (name: string) => adminQuery(async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);

const withPostgres = testDialects().includes('postgresql');

describe('tip jobs opens no database', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  it('lists the jobs of a config whose SQLite folder does not exist, and creates nothing', async () => {
    const dir = tempDir();
    const config = fixtureConfig(dir, { database: { url: 'sqlite:./no/such/folder/tip.sqlite' } });
    const r = await tip(['jobs', '--json', '-c', config]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ id: string }>).map((j) => j.id)).toContain('fixture.ok');
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it.runIf(withPostgres)('lists the jobs of a config whose PostgreSQL database does not exist, and creates nothing', async () => {
    const { url, name } = missingPostgresUrl();
    const r = await tipInProcess(['jobs', '-c', fixtureConfig(tempDir(), { database: { url } })]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^fixture\.ok\s/m);
    expect(await postgresHas(name)).toBe(false);
  });
});

describe('tip status never creates a database', () => {
  it.runIf(withPostgres)('fails clearly on a missing PostgreSQL database and leaves it missing', async () => {
    const { url, name } = missingPostgresUrl();
    try {
      const r = await tipInProcess(['status', '-c', fixtureConfig(tempDir(), { database: { url } })]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: .*\S/);
      expect(r.stderr).toContain(name);
      expect(r.stderr).toContain('tip migrate --create');
      expect(r.stderr).toContain('never creates');
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await postgresHas(name)).toBe(false);
    } finally {
      await adminQuery((c) => c.query(`drop database if exists ${name} with (force)`));
    }
  });

  it('fails clearly on a missing SQLite file and creates neither it nor its folder', async () => {
    const dir = tempDir();
    const r = await tipInProcess(['status', '-c', fixtureConfig(dir, { database: { url: 'sqlite:./data/tip.sqlite' } })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*tip\.sqlite/m);
    expect(r.stderr).toContain('tip migrate');
    expect(r.stderr).toContain('never creates');
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('fails clearly on an unmigrated SQLite database', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'tip.sqlite'), ''); // an empty file is an empty SQLite database
    const r = await tipInProcess(['status', '-c', fixtureConfig(dir, { database: { url: 'sqlite:./data/tip.sqlite' } })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*pending migration.*tip migrate/m);
  });
});

describe('run modes', { timeout: SPAWN_TEST_TIMEOUT }, () => {
  it('starts services only for tip run; every other command starts in its own mode', async () => {
    const dir = tempDir();
    const marker = join(dir, 'service-started');
    const modeLog = join(dir, 'modes');
    const touched = join(dir, 'touched');
    const config = fixtureConfig(dir, {}, { serviceMarker: marker, modeLog });
    const modes = () => (existsSync(modeLog) ? readFileSync(modeLog, 'utf8').trim().split('\n') : []);

    // One-shot commands run in this process (same code as the binary): cheap, and a service they
    // started by mistake would write the marker all the same.
    expect((await tipInProcess(['jobs', '-c', config])).code).toBe(0);
    expect(modes()).toEqual([]); // load only: no plugin init
    expect((await tipInProcess(['trigger', 'fixture.ok', '-c', config])).code).toBe(0);
    expect((await tipInProcess(['status', '-c', config])).code).toBe(0);
    const greet = await tipInProcess(['fixture', 'greet', '--shout', '-c', config]);
    expect(greet).toMatchObject({ code: 0, stdout: 'HELLO X1\n' });
    expect((await tipInProcess(['fixture', 'greet', '--help', '-c', config])).stdout).toContain('Usage: tip fixture greet');
    expect((await tipInProcess(['fixture', 'touch', touched, '-c', config])).code).toBe(0);
    expect(existsSync(touched)).toBe(true);
    expect(modes()).toEqual(['run', 'read', 'read', 'run']); // --help started nothing
    expect(existsSync(marker)).toBe(false);

    const p = spawnNode([BIN, 'run', '-c', config, '--log-format', 'json']);
    await waitForOutput(p, /TIP is running/);
    await waitFor('the service to write its marker', () => existsSync(marker), () => `${p.stdout()}\n${p.stderr()}`);
    expect(modes().at(-1)).toBe('serve');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('passes --create to the migration', async () => {
    const r = await tipInProcess(['migrate', '--create', '-c', fixtureConfig(tempDir())]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('applied @tip/core/0001-kernel');
    expect((await tipInProcess(['migrate', '--help'])).stdout).toContain('--create');
  });
});
