import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFeeds, type FeedServer } from '@tip/core/testing';
import { built, tipCli } from './tip-cli.js';

// `tip blacklist export` through the built binary: the message counts what the file holds,
// --aggregate / --no-aggregate, the ipset/nftables formats and the MISP feed directory.
if (!built) console.warn('export-cli: packages are not built (./dev build): skipped');
const fixture = (name: string) => readFileSync(new URL(`fixtures/exports/${name}`, import.meta.url), 'utf8');

let feeds: FeedServer;
const cli = tipCli('tip-bl-export-cli-');
const tip = cli.tip;
const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

beforeAll(async () => {
  feeds = await serveFeeds({ '/a.txt': fixture('aggregate-a.txt'), '/b.txt': fixture('aggregate-b.txt') });
  cli.configure({ feeds: [
    { id: 'a', url: feeds.url('/a.txt'), format: 'plain', category: 'scanner' },
    { id: 'b', url: feeds.url('/b.txt'), format: 'plain', category: 'spam' },
  ] });
});
afterAll(async () => {
  await feeds.close();
  cli.remove();
});

describe.skipIf(!built)('tip blacklist export', () => {
  it('reports what the file holds, aggregates on request, writes ipset/nftables files and a MISP feed', async () => {
    expect((await tip(['trigger', 'blacklist'])).code).toBe(0);

    // hosts: "wrote N indicators" counts the domains in the file, bytes are the file's size
    const hostsFile = join(cli.dir, 'bl.hosts');
    const hosts = await tip(['blacklist', 'export', '-f', 'hosts', '-o', hostsFile]);
    expect(hosts.code).toBe(0);
    const held = lines(readFileSync(hostsFile, 'utf8')).length;
    expect(held).toBeGreaterThan(0);
    expect(hosts.stderr).toMatch(new RegExp(`^wrote ${held} indicators \\(${statSync(hostsFile).size} bytes\\); from \\d+ entries; skipped \\d+ cidr, \\d+ ip, \\d+ url to `));

    // plain --aggregate: fewer lines than without, same message shape
    const raw = lines((await tip(['blacklist', 'export', '--type', 'ip,cidr'])).stdout);
    const aggFile = join(cli.dir, 'agg.txt');
    const agg = await tip(['blacklist', 'export', '--type', 'ip,cidr', '--aggregate', '-o', aggFile]);
    const aggregated = lines(readFileSync(aggFile, 'utf8'));
    expect(aggregated.length).toBeLessThan(raw.length);
    expect(agg.stderr).toContain(`wrote ${aggregated.length} indicators`);
    expect(agg.stderr).toContain(`${raw.length} ip/cidr entries aggregated into ${aggregated.length} blocks`);

    // ipset aggregates by default; --no-aggregate keeps entries as listed
    const ipset = await tip(['blacklist', 'export', '-f', 'ipset', '--name', 'bl']);
    expect(ipset.stdout).toContain('create bl-v4 hash:net family inet');
    expect(ipset.stdout).not.toContain('45.2.0.7');
    expect((await tip(['blacklist', 'export', '-f', 'ipset', '--no-aggregate'])).stdout).toContain('add tip-blacklist-v4-tmp 45.2.0.7\n');
    expect((await tip(['blacklist', 'export', '-f', 'ipset', '--aggregate', '--no-aggregate'])).code).toBe(2);
    const badName = await tip(['blacklist', 'export', '-f', 'nftables', '--name', 'bad name;x']);
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toContain('not a valid set name');
    expect((await tip(['blacklist', 'export', '-f', 'nftables'])).stdout).toContain('flush set inet tip tip-blacklist-v4\n');

    // misp with -o: the feed directory
    const feedDir = join(cli.dir, 'misp');
    const misp = await tip(['blacklist', 'export', '-f', 'misp', '-o', feedDir]);
    expect(misp.code).toBe(0);
    const files = readdirSync(feedDir).sort();
    expect(files).toHaveLength(3);
    expect(files).toContain('manifest.json');
    expect(files).toContain('hashes.csv');
    const uuid = Object.keys(JSON.parse(readFileSync(join(feedDir, 'manifest.json'), 'utf8')) as object)[0]!;
    expect(misp.stderr).toContain(`event ${uuid}`);
    const event = JSON.parse(readFileSync(join(feedDir, `${uuid}.json`), 'utf8')) as { Event: { Attribute: unknown[] } };
    expect(misp.stderr).toContain(`wrote a MISP feed of ${event.Event.Attribute.length} attributes`);
    // without -o: the event document on standard output
    expect((JSON.parse((await tip(['blacklist', 'export', '-f', 'misp'])).stdout) as { Event: { uuid: string } }).Event.uuid).toBe(uuid);
  }, 120_000);
});
