import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { TipErrorCodes } from '@tip/core';
import {
  CSV_HEADER,
  csvUnguard,
  exportWriters,
  rpzIpName,
  stixIndicatorId,
  uuidv5,
  writeExport,
  type ExportEntry,
  type ExportMeta,
  type ExportWriter,
  type JsonExportDocument,
} from '../src/export/index.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const t = (s: string) => new Date(s);
const META: ExportMeta = { name: 'TIP test list', generatedAt: t('2026-03-01T12:34:56.789Z'), description: 'unit test\nsecond line', filters: { minScore: 0.5 } };
const HOSTILE_URL = "http://example.net/it's/a\\trap,\"quoted\"?q=1";

/** A small set mixing every type and the awkward cases. */
const ENTRIES: ExportEntry[] = [
  { type: 'ip', value: '192.0.2.1', score: 0.91234, firstSeen: t('2026-01-01T00:00:00Z'), lastSeen: t('2026-02-01T00:00:00.5Z'), sources: ['abuse-ch', 'spamhaus'], categories: ['c2', 'botnet'] },
  { type: 'ip', value: '2001:db8::1', score: 0.5, firstSeen: t('2026-01-02T00:00:00Z'), lastSeen: t('2026-01-03T00:00:00Z'), sources: ['=cmd|calc'], categories: ['scanner'] },
  { type: 'ip', value: '2001:db8:0:1:1:1:1:1', score: 0.25, firstSeen: t('2026-01-02T00:00:00Z'), lastSeen: t('2026-01-02T00:00:00Z'), sources: ["'quoted"], categories: [] },
  { type: 'cidr', value: '198.51.100.0/24', score: 1, firstSeen: t('2026-01-04T00:00:00Z'), lastSeen: t('2026-01-05T00:00:00Z'), sources: ['drop'], categories: ['spam'] },
  { type: 'cidr', value: '2001:db8:abcd::/48', score: 0, firstSeen: t('2026-01-04T00:00:00Z'), lastSeen: t('2026-01-05T00:00:00Z'), sources: ['drop,v6'], categories: ['other'] },
  { type: 'domain', value: 'example.com', score: 0.75, firstSeen: t('2026-01-06T00:00:00Z'), lastSeen: t('2026-01-07T00:00:00Z'), sources: ['urlhaus'], categories: ['malware', 'phishing'] },
  { type: 'domain', value: 'xn--mnchen-3ya.de', score: 0.6, firstSeen: t('2026-01-06T00:00:00Z'), lastSeen: t('2026-01-07T00:00:00Z'), sources: ['openphish'], categories: ['phishing'] },
  { type: 'url', value: HOSTILE_URL, score: 0.8, firstSeen: t('2026-01-08T00:00:00Z'), lastSeen: t('2026-01-09T00:00:00Z'), sources: ['-minus', '@at'], categories: ['malware'] },
];

async function collect(format: string, entries: Iterable<ExportEntry> | AsyncIterable<ExportEntry> = ENTRIES, meta = META, writers?: Map<string, ExportWriter>): Promise<string> {
  let out = '';
  await writeExport(format, entries, meta, (c) => void (out += c), writers);
  return out;
}

async function* streamed(list: ExportEntry[]): AsyncGenerator<ExportEntry> {
  yield* list;
}

/** Minimal RFC 4180 reader: CRLF records, quoted fields with doubled quotes; bare CR/LF outside quotes is an error. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') (field += '"'), i++;
      else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else if (c === '\r' || c === '\n' || c === '"') throw new Error(`stray ${JSON.stringify(c)} at ${i}`);
    else field += c;
  }
  if (quoted) throw new Error('unterminated quote');
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows;
}

interface ZoneRecord { name: string; ttl: number; type: string; rdata: string[]; comment: string }
/** Minimal zone-file reader: $TTL, $ORIGIN, `;` comments, ( ) continuation, @, relative and absolute owners. */
function parseZone(text: string): { origin: string; ttl: number; records: ZoneRecord[] } {
  let origin = '';
  let ttl = -1;
  let last = '';
  const records: ZoneRecord[] = [];
  let buf = '';
  let comment = '';
  let depth = 0;
  for (const raw of text.split('\n')) {
    const semi = raw.indexOf(';');
    const line = semi < 0 ? raw : raw.slice(0, semi);
    if (depth === 0) (buf = line), (comment = semi < 0 ? '' : raw.slice(semi + 1).trim());
    else buf += ` ${line}`;
    depth += (line.match(/\(/g)?.length ?? 0) - (line.match(/\)/g)?.length ?? 0);
    if (depth > 0 || buf.trim() === '') continue;
    const inherit = /^\s/.test(buf);
    const tok = buf.replace(/[()]/g, ' ').trim().split(/\s+/);
    if (tok[0] === '$TTL') ttl = Number(tok[1]);
    else if (tok[0] === '$ORIGIN') origin = tok[1]!;
    else {
      const owner = inherit ? last : tok.shift()!;
      last = owner;
      const name = owner === '@' ? origin : owner.endsWith('.') ? owner : `${owner}.${origin}`;
      let rrTtl = ttl;
      if (/^\d+$/.test(tok[0]!)) rrTtl = Number(tok.shift());
      if (tok[0] === 'IN') tok.shift();
      records.push({ name, ttl: rrTtl, type: tok.shift()!, rdata: tok, comment });
    }
  }
  return { origin, ttl, records };
}

const hasNamedCheckzone = spawnSync('which', ['named-checkzone']).status === 0;
if (!hasNamedCheckzone) console.warn('named-checkzone not found (Debian: apt-get install bind9utils): RPZ zone checks are SKIPPED');
const tmp = mkdtempSync(join(tmpdir(), 'tip-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function namedCheckzone(zone: string, text: string): { status: number | null; out: string } {
  const file = join(tmp, `${zone}zone`);
  writeFileSync(file, text);
  const r = spawnSync('named-checkzone', [zone, file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('plain and hosts', () => {
  it('plain: header comments, then one value per line', async () => {
    const text = await collect('plain');
    const lines = text.split('\n').filter(Boolean);
    expect(lines[0]).toBe('# TIP test list');
    expect(lines).toContain('# generated: 2026-03-01T12:34:56.789Z');
    expect(lines).toContain('# description: unit test second line');
    expect(lines).toContain('# filters: {"minScore":0.5}');
    expect(lines).toContain(`# count: ${ENTRIES.length}`);
    expect(lines.filter((l) => !l.startsWith('#'))).toEqual(ENTRIES.map((e) => e.value));
    // Streamed input: the count is only known at the end.
    const streamedText = await collect('plain', streamed(ENTRIES));
    expect(streamedText.trimEnd().split('\n').at(-1)).toBe(`# count: ${ENTRIES.length}`);
  });

  it('hosts: 0.0.0.0 per domain, other types counted in a trailing comment', async () => {
    const lines = (await collect('hosts')).split('\n').filter(Boolean);
    expect(lines.filter((l) => !l.startsWith('#'))).toEqual(['0.0.0.0 example.com', '0.0.0.0 xn--mnchen-3ya.de']);
    expect(lines).toContain('# skipped 6 non-domain entries (ip: 3, cidr: 2, url: 1)');
    const custom = exportWriters({ hosts: { address: '127.0.0.1' } });
    expect(await collect('hosts', ENTRIES, META, custom)).toContain('127.0.0.1 example.com\n');
    expect(() => exportWriters({ hosts: { address: 'nowhere' } })).toThrow(expect.objectContaining({ code: TipErrorCodes.CONFIG_INVALID, details: expect.objectContaining({ path: 'hosts.address' }) }));
  });
});

describe('csv', () => {
  it('round-trips every field through an RFC 4180 reader', async () => {
    const text = await collect('csv');
    expect(text.startsWith(`${CSV_HEADER}\r\n`)).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(CSV_HEADER.split(','));
    expect(rows).toHaveLength(ENTRIES.length);
    rows.forEach((r, i) => {
      const e = ENTRIES[i]!;
      expect(r).toHaveLength(7);
      expect(csvUnguard(r[0]!)).toBe(e.type);
      expect(csvUnguard(r[1]!)).toBe(e.value);
      expect(r[2]).toBe(e.score.toFixed(4));
      expect(new Date(r[3]!).getTime()).toBe(e.firstSeen.getTime());
      expect(new Date(r[4]!).getTime()).toBe(e.lastSeen.getTime());
      expect(csvUnguard(r[5]!).split(';').filter(Boolean)).toEqual(e.sources);
      expect(csvUnguard(r[6]!).split(';').filter(Boolean)).toEqual(e.categories);
    });
  });

  it('guards against formula injection', async () => {
    const rows = parseCsv(await collect('csv')).slice(1);
    expect(rows[1]![5]).toBe("'=cmd|calc");
    expect(rows[2]![5]).toBe("''quoted");
    expect(rows[7]![5]).toBe("'-minus;@at");
    for (const r of rows) for (const f of r) expect(f).not.toMatch(/^[=+\-@\t\r]/);
  });
});

describe('json', () => {
  it('parses and round-trips (count first for arrays, last for streams)', async () => {
    for (const input of [ENTRIES, streamed(ENTRIES)]) {
      const doc = JSON.parse(await collect('json', input)) as JsonExportDocument;
      expect(doc).toMatchObject({ name: META.name, generatedAt: META.generatedAt.toISOString(), description: META.description, filters: META.filters, count: ENTRIES.length });
      const back = doc.indicators.map((i) => ({ ...i, firstSeen: new Date(i.firstSeen), lastSeen: new Date(i.lastSeen) }));
      expect(back).toEqual(ENTRIES.map((e) => ({ ...e, score: Math.round(e.score * 10000) / 10000 })));
    }
    expect(JSON.parse(await collect('json', []))).toMatchObject({ count: 0, indicators: [] });
  });
});

describe('rpz', () => {
  const long63 = `${'a'.repeat(63)}.com`;
  const label64 = `${'b'.repeat(64)}.com`;
  const tooLongName = `${Array.from({ length: 4 }, () => 'c'.repeat(60)).join('.')}.com`; // 245 chars: fits alone, not with the origin
  const extra: ExportEntry[] = [long63, label64, tooLongName, 'evil.rpz-ip'].map((value) => ({ ...ENTRIES[5]!, value }));

  it('encodes rpz-ip names', () => {
    expect(rpzIpName('192.0.2.1')).toBe('32.1.2.0.192.rpz-ip');
    expect(rpzIpName('198.51.100.0/24')).toBe('24.0.100.51.198.rpz-ip');
    expect(rpzIpName('2001:db8::1')).toBe('128.1.zz.db8.2001.rpz-ip');
    expect(rpzIpName('2001:db8::/32')).toBe('32.zz.db8.2001.rpz-ip');
    expect(rpzIpName('2001:db8:0:1:1:1:1:1')).toBe('128.1.1.1.1.1.0.db8.2001.rpz-ip');
    expect(rpzIpName('2001:0:0:1:0:0:0:1')).toBe('128.1.zz.1.0.0.2001.rpz-ip');
    expect(rpzIpName('::1')).toBe('128.1.zz.rpz-ip');
    expect(rpzIpName('nope')).toBeNull();
  });

  it('parses back with a zone reader and every name is DNS-valid', async () => {
    const text = await collect('rpz', [...ENTRIES, ...extra]);
    const zone = parseZone(text);
    expect(zone.origin).toBe('rpz.tip.local.');
    expect(zone.ttl).toBe(300);
    const [soa, ns, ...rrs] = zone.records;
    expect(soa).toMatchObject({ name: 'rpz.tip.local.', type: 'SOA', rdata: ['localhost.', 'hostmaster.localhost.', String(Math.floor(META.generatedAt.getTime() / 1000)), '3600', '600', '604800', '300'] });
    expect(ns).toMatchObject({ name: 'rpz.tip.local.', type: 'NS', rdata: ['localhost.'] });
    for (const r of rrs) {
      expect(r).toMatchObject({ type: 'CNAME', rdata: ['.'] });
      expect(r.name.length).toBeLessThanOrEqual(254);
      for (const l of r.name.slice(0, -1).split('.')) expect(l.length).toBeGreaterThan(0), expect(l.length).toBeLessThanOrEqual(63);
    }
    expect(rrs.map((r) => r.name.replace(/\.rpz\.tip\.local\.$/, ''))).toEqual([
      '32.1.2.0.192.rpz-ip',
      '128.1.zz.db8.2001.rpz-ip',
      '128.1.1.1.1.1.0.db8.2001.rpz-ip',
      '24.0.100.51.198.rpz-ip',
      '48.zz.abcd.db8.2001.rpz-ip',
      'example.com',
      '*.example.com',
      'xn--mnchen-3ya.de',
      '*.xn--mnchen-3ya.de',
      long63,
      `*.${long63}`,
    ]);
    expect(rrs[0]!.comment).toBe('score=0.9123 sources=abuse-ch,spamhaus');
    expect(text).toContain('; skipped 1 url entries');
    expect(text).toContain('; skipped 2 entries whose names are too long for DNS');
    expect(text).toContain('; skipped 1 entries that are not valid DNS names or addresses');
  });

  it('takes the origin from rpz.zone, then a DNS-like meta.name; validates options', async () => {
    expect(parseZone(await collect('rpz', ENTRIES, { ...META, name: 'bl.example.org' })).origin).toBe('bl.example.org.');
    const custom = exportWriters({ rpz: { zone: 'Policy.Example.', ttl: 60, serial: 'date' } });
    const zone = parseZone(await collect('rpz', ENTRIES, META, custom));
    expect(zone).toMatchObject({ origin: 'policy.example.', ttl: 60 });
    expect(zone.records[0]!.rdata[2]).toBe('2026030112');
    for (const [rpz, path] of [[{ zone: 'bad zone' }, 'rpz.zone'], [{ ttl: -1 }, 'rpz.ttl'], [{ serial: 2 ** 33 }, 'rpz.serial']] as const) {
      expect(() => exportWriters({ rpz })).toThrow(expect.objectContaining({ code: TipErrorCodes.CONFIG_INVALID, details: expect.objectContaining({ path }) }));
    }
  });

  it.skipIf(!hasNamedCheckzone)('named-checkzone accepts the zone', async () => {
    const r = namedCheckzone('rpz.tip.local.', await collect('rpz', [...ENTRIES, ...extra]));
    expect(r.out).toMatch(/\bOK\b/);
    expect(r.status).toBe(0);
    const named = exportWriters({ rpz: { zone: 'policy.example.' } });
    const empty = namedCheckzone('policy.example.', await collect('rpz', [], META, named));
    expect(empty.status, empty.out).toBe(0);
    // The check has teeth: the names the writer skips would break the zone.
    const broken = namedCheckzone('rpz.tip.local.', `${await collect('rpz')}${label64} CNAME .\n`);
    expect(broken.status).not.toBe(0);
  });
});

describe('stix', () => {
  const schemaRoot = new URL('./fixtures/stix-schemas/schemas/', import.meta.url);
  const BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';
  const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false, validateSchema: false });
  addFormats(ajv);
  for (const dir of ['common', 'sdos']) {
    for (const f of readdirSync(new URL(`${dir}/`, schemaRoot))) ajv.addSchema(JSON.parse(readFileSync(new URL(`${dir}/${f}`, schemaRoot), 'utf8')) as object);
  }
  // Object types the export never writes: matching nothing keeps bundle.json's oneOf exact (see the fixtures README).
  const bundleText = readFileSync(new URL('common/bundle.json', schemaRoot), 'utf8');
  for (const [, ref] of JSON.stringify(JSON.parse(bundleText)).matchAll(/"\$ref":"([^"]+)"/g)) {
    const id = new URL(ref!, `${BASE}common/bundle.json`).href;
    if (!ajv.getSchema(id)) ajv.addSchema({ $id: id, not: {} });
  }
  const validate = (id: string, data: unknown) => {
    const v = ajv.getSchema(`${BASE}${id}`)!;
    return v(data) ? null : v.errors;
  };

  it('builds UUIDv5 ids', () => {
    expect(uuidv5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(stixIndicatorId('ip', '192.0.2.1')).toBe('indicator--0a19a062-f1a3-578b-8fbc-46883bc5cd88');
  });

  it('writes a bundle that validates against the OASIS schemas, every object too', async () => {
    const bundle = JSON.parse(await collect('stix')) as { type: string; id: string; objects: Array<Record<string, unknown>> };
    expect(validate('common/bundle.json', bundle)).toBeNull();
    expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
    const [identity, ...indicators] = bundle.objects;
    expect(identity).toMatchObject({ type: 'identity', identity_class: 'system', name: 'TIP' });
    expect(validate('sdos/identity.json', identity)).toBeNull();
    expect(indicators).toHaveLength(ENTRIES.length);
    indicators.forEach((o, i) => {
      const e = ENTRIES[i]!;
      expect(validate('sdos/indicator.json', o)).toBeNull();
      expect(o).toMatchObject({
        id: stixIndicatorId(e.type, e.value),
        spec_version: '2.1',
        created: e.firstSeen.toISOString(),
        modified: e.lastSeen.toISOString(),
        valid_from: e.firstSeen.toISOString(),
        pattern_type: 'stix',
        confidence: Math.round(e.score * 100),
        created_by_ref: identity!.id,
      });
      expect(o.labels).toEqual(e.categories.length > 0 ? e.categories : undefined);
      expect(o.x_tip_sources).toEqual(e.sources);
    });
    expect(indicators.map((o) => o.pattern)).toEqual([
      "[ipv4-addr:value = '192.0.2.1']",
      "[ipv6-addr:value = '2001:db8::1']",
      "[ipv6-addr:value = '2001:db8:0:1:1:1:1:1']",
      "[ipv4-addr:value = '198.51.100.0/24']",
      "[ipv6-addr:value = '2001:db8:abcd::/48']",
      "[domain-name:value = 'example.com']",
      "[domain-name:value = 'xn--mnchen-3ya.de']",
      "[url:value = 'http://example.net/it\\'s/a\\\\trap,\"quoted\"?q=1']",
    ]);
    expect(indicators.map((o) => o.indicator_types)).toEqual([
      ['malicious-activity', 'compromised'], ['anomalous-activity'], ['unknown'], ['malicious-activity'], ['unknown'], ['malicious-activity'], ['malicious-activity'], ['malicious-activity'],
    ]);
    // Ids are stable across exports; the bundle id is not.
    const again = JSON.parse(await collect('stix')) as typeof bundle;
    expect(again.objects.map((o) => o.id)).toEqual(bundle.objects.map((o) => o.id));
    expect(again.id).not.toBe(bundle.id);
    // The validator has teeth: broken objects fail.
    const ind = indicators[0]!;
    for (const bad of [{ ...ind, pattern_type: undefined }, { ...ind, created: '2026-01-01T00:00:00Z' }, { ...ind, confidence: 101 }, { ...ind, x_tip_sources: [] }, { ...ind, id: 'indicator--nope' }]) {
      expect(validate('sdos/indicator.json', JSON.parse(JSON.stringify(bad)))).not.toBeNull();
    }
    expect(validate('common/bundle.json', { ...bundle, objects: [...bundle.objects, { ...ind, type: 'malware' }] })).not.toBeNull();
  });

  it('escapes hostile values per the STIX patterning grammar', async () => {
    const hostile = "x'] OR [file:name = 'a\\\\'\\";
    const bundle = JSON.parse(await collect('stix', [{ ...ENTRIES[7]!, value: hostile }])) as { objects: Array<{ pattern: string }> };
    expect(validate('common/bundle.json', bundle)).toBeNull();
    // StringLiteral: QUOTE ( ~['\\] | '\\\'' | '\\\\' )* QUOTE, exactly one comparison.
    const m = /^\[url:value = '((?:[^'\\]|\\['\\])*)'\]$/.exec(bundle.objects[1]!.pattern);
    expect(m).not.toBeNull();
    expect(m![1]!.replace(/\\(['\\])/g, '$1')).toBe(hostile);
  });
});

describe('writeExport', () => {
  it('rejects unknown formats and accepts user writers', async () => {
    await expect(writeExport('xml', ENTRIES, META, () => {})).rejects.toMatchObject({ code: 'BL_EXPORT_FORMAT_UNKNOWN', details: { path: 'format' } });
    const writers = exportWriters();
    writers.set('count', { format: 'count', contentType: 'text/plain', fileExtension: 'txt', async *write(entries) { let n = 0; for await (const _ of entries) n++; yield `${n}\n`; } });
    expect(await collect('count', streamed(ENTRIES), META, writers)).toBe(`${ENTRIES.length}\n`);
  });

  const N = 200_000;
  function* generate(): Generator<ExportEntry> {
    const first = t('2026-01-01T00:00:00Z');
    for (let i = 0; i < N; i++) {
      const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const k = i % 4;
      const [type, value] = k === 0 ? ['ip', a] : k === 1 ? ['cidr', `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`] : k === 2 ? ['domain', `host-${i}.example.com`] : ['url', `http://host-${i}.example.com/p?i=${i}`];
      yield { type: type as ExportEntry['type'], value: value!, score: (i % 100) / 100, firstSeen: first, lastSeen: first, sources: ['s1', 's2'], categories: ['spam'] };
    }
  }

  // what each format holds of the generated mix (a quarter each of ip, cidr, domain, url)
  const q = N / 4;
  const holds: Record<string, { written: number; skipped: Record<string, number> }> = {
    plain: { written: N, skipped: {} },
    hosts: { written: q, skipped: { ip: q, cidr: q, url: q } },
    csv: { written: N, skipped: {} },
    json: { written: N, skipped: {} },
    rpz: { written: 3 * q, skipped: { url: q } },
    stix: { written: N, skipped: {} },
    misp: { written: N, skipped: {} },
  };
  it.each(Object.keys(holds))('streams 200k entries as %s in bounded chunks', async (format) => {
    let bytes = 0;
    let chunks = 0;
    let largest = 0;
    let text = format === 'json' || (format === 'rpz' && hasNamedCheckzone) ? '' : undefined;
    const r = await writeExport(format, async function* () { yield* generate(); }(), META, async (c) => {
      const b = Buffer.byteLength(c);
      bytes += b;
      chunks++;
      largest = Math.max(largest, b);
      if (text !== undefined) text += c;
    });
    expect(r).toEqual({ count: N, bytes, ...holds[format] });
    expect(chunks).toBeGreaterThan(10);
    expect(largest).toBeLessThanOrEqual(1024 * 1024);
    if (format === 'json') expect((JSON.parse(text!) as JsonExportDocument).count).toBe(N);
    if (format === 'rpz' && text !== undefined) {
      const check = namedCheckzone('rpz.tip.local.', text);
      expect(check.status, check.out.slice(0, 500)).toBe(0);
    }
  }, 60_000);
});
