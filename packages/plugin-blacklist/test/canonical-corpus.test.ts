/**
 * Runs the canonicaliser over every line of the real domain and URL feeds of the shared corpus
 * (`<repo>/../shared/corpus/blocklists`, see its SOURCES.md) and checks which real hosts are
 * accepted: phishing hosts with `_` in a label, hosts under private wildcard rules
 * (`*.compute-1.amazonaws.com`, `*.eth.limo`), and that no DNS record name (`_dmarc.…`) passes.
 * Skipped, with a message, when the corpus is not present.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../src/indicators/canonical.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(here, '..', '..', '..', '..', 'shared', 'corpus', 'blocklists');
const present = existsSync(dir);
if (!present) console.warn(`canonical-corpus: skipped, the shared corpus is not at ${dir}`);

/** Names a hosts file maps that are the machine itself, not listings. */
const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', '0.0.0.0']);

/** The raw values one corpus feed lists: hosts-file names, plain lines, or `http://host/path` from the URLhaus CSV. */
function values(rel: string): string[] {
  const lines = readFileSync(path.join(dir, rel), 'utf8').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const t = line.replace(/\s#.*$/, '').trim();
    if (t === '' || t.startsWith('#')) continue;
    if (rel.endsWith('.csv')) {
      const m = /^"([^"]*)","([^"]*)"/.exec(t);
      if (m && m[1] !== 'host') out.push(`http://${m[1]}${m[2]}`);
    } else if (rel.endsWith('.hosts') || rel.endsWith('-hosts.txt')) {
      const fields = t.split(/\s+/);
      for (const name of fields.slice(1)) if (!LOCAL_NAMES.has(name) && !name.startsWith('ip6-')) out.push(name);
    } else out.push(t);
  }
  return out;
}

/**
 * Values of each feed refused by the canonicaliser: `[before, now]`, where "before" was measured
 * with the rules that refused every `_` and every host under a private wildcard rule. What is
 * still refused: 5 DNS record names (`_dmarc.…`, `default._bimi.…`) and `dweb.link`, a public suffix.
 */
const REFUSED: Record<string, [number, number]> = {
  'domains/badd-boyz.hosts': [0, 0],
  'domains/fademind-add.Risk.hosts': [0, 0],
  'domains/urlhaus-filter-hosts.txt': [1, 0],
  'domains/openphish-domains.first20k.txt': [38, 6],
  'urls/openphish-urls-2024-07-05.txt': [0, 0],
  'urls/urlhaus-filter-splunk-online.csv': [0, 0],
};

/** A label of `host` starts with `_`: a DNS record name. */
const recordName = (host: string): boolean => host.split('.').some((l) => l.startsWith('_'));

/** Every refused value of a feed, with its reason. */
function refused(rel: string): { value: string; reason: string }[] {
  const out: { value: string; reason: string }[] = [];
  for (const v of values(rel)) {
    const r = canonicalize(v);
    if (!r.ok) out.push({ value: v, reason: r.reason });
  }
  return out;
}

describe.skipIf(!present)('canonicaliser on the shared corpus feeds', () => {
  const all = present ? Object.keys(REFUSED).map((rel) => ({ rel, refused: refused(rel), total: values(rel).length })) : [];

  it('refuses fewer real values than before, and reports the counts per feed', () => {
    for (const { rel, refused: r, total } of all) {
      const byReason = new Map<string, number>();
      for (const { reason } of r) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
      const [before] = REFUSED[rel]!;
      console.info(`${rel}: ${total} values, refused before ${before}, now ${r.length} ${JSON.stringify(Object.fromEntries(byReason))}`);
    }
    for (const { rel, refused: r } of all) expect(r.length, rel).toBe(REFUSED[rel]![1]);
  });

  it('accepts the phishing hosts with "_" in a label, as domains and as URL hosts', () => {
    const hosts = values('domains/openphish-domains.first20k.txt').filter((v) => v.includes('_') && !recordName(v));
    expect(hosts.length).toBe(29);
    for (const h of hosts) {
      expect(canonicalize(h), h).toEqual({ ok: true, indicators: [{ type: 'domain', value: h.toLowerCase() }] });
      const u = canonicalize(`http://${h}/login`);
      expect(u.ok && u.indicators.map((i) => i.value), h).toEqual([`http://${h.toLowerCase()}/login`, h.toLowerCase()]);
    }
  });

  it('accepts hosts under amazonaws.com and eth.limo (private and wildcard rules), as domains and as URL hosts', () => {
    const hosts = Object.keys(REFUSED)
      .filter((rel) => rel.startsWith('domains/'))
      .flatMap(values)
      .filter((v) => /(^|\.)(amazonaws\.com|eth\.limo)$/.test(v));
    expect(hosts.length).toBeGreaterThan(50);
    expect(hosts.some((h) => h.endsWith('.eth.limo'))).toBe(true);
    for (const h of hosts) {
      expect(canonicalize(h), h).toEqual({ ok: true, indicators: [{ type: 'domain', value: h.toLowerCase() }] });
      expect(canonicalize(`https://${h}/`).ok, h).toBe(true);
    }
  });

  it('never accepts a DNS record name', () => {
    const names = all.flatMap(({ rel }) => values(rel)).filter((v) => !v.includes('://') && recordName(v));
    expect(names.length).toBe(5);
    for (const n of names) expect(canonicalize(n), n).toEqual({ ok: false, reason: 'DNS record name (a label starts with "_"), not a host' });
  });
});
