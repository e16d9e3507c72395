import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanup, get, requireBuild, ROOT, SPAWN_TEST_TIMEOUT, spawnNode, tempDir, tipInProcess, waitForOutput, writeConfig } from '../../cli/test/helpers.js';

// `tip run --http` with the web plugin in the config serves @tip/web (authenticated API, UI)
// instead of the status server; `tip web token|user` manage its credentials.
const WEB = join(ROOT, 'packages/web/dist/index.js');

beforeAll(() => requireBuild());
afterEach(cleanup);

function webConfig(): string {
  const dir = tempDir('tip-web-cli-');
  return writeConfig(dir, { database: { url: 'sqlite:./tip.sqlite', autoMigrate: true }, plugins: [WEB] });
}

describe('tip run --http with @tip/web', () => {
  it('refuses a public address without credentials, then serves it authenticated once a token exists', { timeout: SPAWN_TEST_TIMEOUT }, async () => {
    const config = webConfig();
    const refused = spawnNode([BIN, 'run', '--http', '0.0.0.0:0', '-c', config]);
    expect(await refused.exited).not.toBe(0);
    expect(refused.stderr()).toMatch(/refusing to serve on 0\.0\.0\.0: no web credential/);
    expect(refused.stderr()).toContain('tip web token create --name <name> --scope admin');

    const created = await tipInProcess(['web', 'token', 'create', '--name', 'ci', '--scope', 'admin', '-c', config]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^tip_[0-9a-f]{16}_\S{43}$/);
    expect(created.stderr).toContain('shown only now');
    const listed = await tipInProcess(['web', 'token', 'list', '--json', '-c', config]);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'ci', scope: 'admin', revokedAt: null })]);
    expect(listed.stdout).not.toContain(token.replace(/^tip_[0-9a-f]{16}_/, '')) /* the secret (base64url: may hold '_') */;

    const p = spawnNode([BIN, 'run', '--http', '127.0.0.1:0', '-c', config]);
    const [, url] = await waitForOutput(p, /^TIP is running at (http:\/\/127\.0\.0\.1:\d+\/)$/m);
    expect(p.stdout()).toMatch(/web UI and API at http/);
    expect((await get(`${url}api/jobs`)).status).toBe(401);
    const jobs = await fetch(`${url}api/jobs`, { headers: { authorization: `Bearer ${token}` } });
    expect(jobs.status).toBe(200);
    const ui = await fetch(url!);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await get(`${url}healthz`)).status).toBe(200);
    const doc = await fetch(`${url}api/openapi.json`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await doc.json()) as { paths: Record<string, unknown> }).paths).toHaveProperty(['/api/jobs/{id}/trigger']);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);

    const revoked = await tipInProcess(['web', 'token', 'revoke', token.split('_')[1]!, '-c', config]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await tipInProcess(['web', 'token', 'revoke', 'nope', '-c', config])).code).toBe(1);
  });

  it('manages users; a worker with the web plugin keeps health only', { timeout: SPAWN_TEST_TIMEOUT }, async () => {
    const config = webConfig();
    const added = await tipInProcess(['web', 'user', 'add', 'alice', '--scope', 'admin', '-c', config]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^password: \S{20,}\n$/);
    expect((await tipInProcess(['web', 'user', 'add', 'alice', '-c', config])).code).not.toBe(0);
    expect((await tipInProcess(['web', 'user', 'add', 'bob', '--scope', 'root', '-c', config])).code).toBe(2);
    const users = await tipInProcess(['web', 'user', 'list', '-c', config]);
    expect(users.stdout).toMatch(/^alice\s+admin/m);
    expect((await tipInProcess(['web', 'user', 'remove', 'alice', '-c', config])).code).toBe(0);
    expect((await tipInProcess(['web', 'user', 'remove', 'alice', '-c', config])).code).toBe(1);

    const p = spawnNode([BIN, 'run', '--role', 'worker', '--http', '127.0.0.1:0', '-c', config]);
    const [, url] = await waitForOutput(p, /health and metrics at (http:\/\/127\.0\.0\.1:\d+\/)healthz/);
    expect((await get(`${url}healthz`)).status).toBe(200);
    expect((await get(`${url}api/jobs`)).status).toBe(404);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
  });
});
