import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFeeds, type FeedServer } from '@tip/core/testing';
import { built, tipCli } from './tip-cli.js';

// End to end through the built `tip` binary: `tip trigger blacklist`, then the plugin's commands.
const hasNamedCheckzone = (() => {
  try {
    execFileSync('named-checkzone', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let feeds: FeedServer;
const cli = tipCli('tip-bl-cli-');
const tip = cli.tip;

beforeAll(async () => {
  feeds = await serveFeeds({
    '/ips.txt': '45.95.146.7\n89.248.165.12\n185.156.73.0/24\n',
    '/hosts.txt': '0.0.0.0 malware-drop-1.com\n0.0.0.0 xn--bcher-kva.com\n',
  });
  cli.configure({ feeds: [
    { id: 'ips', url: feeds.url('/ips.txt'), format: 'plain', category: 'scanner' },
    { id: 'hosts', url: feeds.url('/hosts.txt'), format: 'hosts', category: 'malware' },
  ] });
});
afterAll(async () => {
  await feeds.close();
  cli.remove();
});

describe.skipIf(!built)('tip blacklist commands', () => {
  it('collects, lists sources and exports a zone that named-checkzone accepts', async () => {
    expect((await tip(['trigger', 'blacklist'])).code).toBe(0);
    const sources = await tip(['blacklist', 'sources', '--json']);
    expect(sources.code).toBe(0);
    const rows = JSON.parse(sources.stdout) as Array<{ id: string; listed: number; weight: number }>;
    expect(rows.map((r) => [r.id, r.listed])).toEqual([['hosts', 2], ['ips', 3]]);
    expect(rows.every((r) => typeof r.weight === 'number')).toBe(true);
    const weights = await tip(['blacklist', 'weights']);
    expect(weights.stdout).toContain('IPv4 addresses');

    const zone = join(cli.dir, 'bl.rpz');
    const exported = await tip(['blacklist', 'export', '-f', 'rpz', '--name', 'rpz.tip.test', '-o', zone]);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain('wrote 5 indicators');
    const text = readFileSync(zone, 'utf8');
    expect(text).toContain('malware-drop-1.com CNAME .');
    expect(text).toContain('xn--bcher-kva.com CNAME .');
    expect(text).toContain('24.0.73.156.185.rpz-ip CNAME .');
    if (hasNamedCheckzone) expect(execFileSync('named-checkzone', ['rpz.tip.test', zone]).toString()).toContain('OK');
    else console.warn('named-checkzone not installed: zone checked by content only');

    const csv = await tip(['blacklist', 'export', '-f', 'csv', '--type', 'ip']);
    expect(csv.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[1])).toEqual(['45.95.146.7', '89.248.165.12']);
    expect((await tip(['blacklist', 'export', '-f', 'nope'])).stderr).toContain('unknown export format "nope"');
    expect((await tip(['blacklist', 'export', '--min-score', '7'])).code).toBe(2);
    expect((await tip(['blacklist', 'export', '--source', 'nope'])).stderr).toContain('unknown blacklist source(s): "nope"');
  });
});
