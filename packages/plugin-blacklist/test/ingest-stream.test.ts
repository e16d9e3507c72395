import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { TipErrorCodes } from '@tip/core';
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { BlacklistErrors } from '../src/errors.js';
import { Yielder } from '../src/ingest/Yielder.js';
import { decodeFeedBodyAsync, decodeFeedSegments, SEGMENT_BYTES } from '../src/parsers/decode.js';
import { DEFAULT_MAX_FEED_LINES, parseFeed, parseFeedAsync } from '../src/parsers/parseFeed.js';
import { csvParser } from '../src/parsers/csv.js';
import { ParserRegistry } from '../src/parsers/registry.js';
import { newParseStats } from '../src/parsers/types.js';

// Bounded-memory parsing: line-independent formats are decoded and parsed in segments; the result
// must be exactly the whole-text parse. Plus the line cap and the CSV template.

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): Buffer => readFileSync(path.join(here, 'fixtures', 'feeds', name));
const registry = ParserRegistry.withDefaults();
const collect = async (body: Uint8Array, segmentBytes: number, maxLineLength = 10) => {
  const out: string[] = [];
  for await (const s of decodeFeedSegments(body, { maxBytes: 1 << 24, name: 'f', maxLineLength, segmentBytes })) out.push(s);
  return out;
};
/** The error `fn` throws (fails the test when it throws nothing). */
const caught = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
};
const ip = (i: number) => `45.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

describe('decodeFeedSegments', () => {
  it('cuts plain, gzip and multi-member gzip bodies at line ends; the pieces join to the whole text', async () => {
    const text = `\ufeff${Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? `${ip(i)}\r` : ip(i))).join('\n')}\nno-newline-at-end`;
    const bytes = Buffer.from(text);
    const whole = await decodeFeedBodyAsync(bytes, { maxBytes: 1 << 24 });
    for (const body of [bytes, gzipSync(bytes), Buffer.concat([gzipSync(bytes.subarray(0, 3001)), gzipSync(bytes.subarray(3001))])]) {
      const segments = await collect(body, 200);
      // uncompressed: ~200-byte pieces; gzip arrives in 256 KiB chunks, cut at their last line end
      expect(segments.length).toBeGreaterThan(body === bytes ? 10 : 1);
      expect(segments.join('')).toBe(whole);
      for (const s of segments.slice(0, -1)) expect(s.endsWith('\n')).toBe(true);
    }
  });

  it('decodes zip and UTF-16 bodies whole; keeps the size limit and the corrupt-gzip error', async () => {
    const zip = zipSync({ 'list.txt': strToU8('1.2.3.4\n5.6.7.8\n') });
    expect(await collect(zip, 200)).toEqual(['1.2.3.4\n5.6.7.8\n']);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('1.2.3.4\nexample.com\n'.repeat(40), 'utf16le')]);
    expect(await collect(gzipSync(utf16), 200)).toEqual(['1.2.3.4\nexample.com\n'.repeat(40)]);
    const big = gzipSync(Buffer.alloc(100_000, 0x41));
    const limited = decodeFeedSegments(big, { maxBytes: 50_000, name: 'f', maxLineLength: 10 });
    await expect((async () => { for await (const _ of limited) void _; })()).rejects.toMatchObject({ code: TipErrorCodes.HTTP_TOO_LARGE, details: { source: 'f', encoding: 'gzip' } });
    const plain = decodeFeedSegments(Buffer.alloc(60_000, 0x41), { maxBytes: 50_000, name: 'f', maxLineLength: 10 });
    await expect((async () => { for await (const _ of plain) void _; })()).rejects.toMatchObject({ code: TipErrorCodes.HTTP_TOO_LARGE });
    const cut = decodeFeedSegments(gzipSync(Buffer.from('1.2.3.4\n'.repeat(1000))).subarray(0, 40), { maxBytes: 50_000, name: 'f', maxLineLength: 10 });
    await expect((async () => { for await (const _ of cut) void _; })()).rejects.toMatchObject({ code: TipErrorCodes.HTTP_TRUNCATED });
  });

  it('a line longer than a segment is cut (still over the limit) and the rest of it dropped', async () => {
    const long = 'x'.repeat(10_000);
    const segments = await collect(Buffer.from(`1.2.3.4\n${long}\n5.6.7.8\n`), 200, 10);
    const joined = segments.join('');
    const lines = joined.split('\n');
    expect(lines[0]).toBe('1.2.3.4');
    expect(lines[1]!.length).toBeGreaterThan(10);
    expect(lines[1]!.length).toBeLessThan(200);
    expect(lines.slice(2)).toEqual(['5.6.7.8', '']);
    // at the very end of the body too
    expect((await collect(Buffer.from(`1.2.3.4\n${long}`), 200, 10)).join('').split('\n')[1]!.length).toBeLessThan(200);
  });
});

describe('segmented parsing equals whole-text parsing', () => {
  // Many segments, with invalid and overlong lines after the first one.
  const n = 400_000; // about 5 MiB: many segments
  const lines = Array.from({ length: n }, (_, i) => (i % 50_000 === 49_999 ? 'not an address' : i % 70_001 === 70_000 ? 'y'.repeat(5000) : ip(i % 300_000)));
  const urlhaus = fixture('urlhaus-recent.csv').toString('utf8');
  const urlhausRows = urlhaus.split('\n').filter((l, i, all) => !l.startsWith('#') && i < all.length - 1);
  // URLhaus rows with quoted newlines and "" escapes, renumbered, many times over; a CRLF variant
  // (valid rows first, so that the sampled invalid ones come from later segments)
  const valid = (i: number) => `"${i}","2024-07-05 11:59:04","http://${ip(i)}/bins/x","online","","malware_download","elf","https://urlhaus.abuse.ch/url/${i}/","r"`;
  const csvBody = (rows: number, eol: string, comment = '#') =>
    [
      urlhaus.split('\n').slice(0, 7).map((l) => l.replace(/^#/, comment)).join(eol),
      ...Array.from({ length: 20_000 }, (_, i) => valid(i)),
      ...Array.from({ length: rows }, (_, i) => urlhausRows[i % urlhausRows.length]!.replace(/^"(\d+)"/, `"${i}"`).replace(/45\.95\.146\.22/, ip(i))),
    ].join(eol);
  const split = fixture('urlhaus-host-path.csv').toString('utf8').split('\n');
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['plain', lines.join('\n'), {}],
    ['hosts', lines.map((l, i) => (i % 3 === 0 ? `0.0.0.0 host-${i % 90_000}.example.com` : `# ${l}`)).join('\r\n'), {}],
    ['drop', lines.map((l) => `${l.startsWith('45.') ? `${l}/32` : l} ; SBL1`).join('\n'), {}],
    ['csv', csvBody(60_000, '\n'), { column: 2 }],
    ['csv', csvBody(40_000, '\r\n', '//'), { column: 2, comment: '//', maxLineLength: 300 }],
    ['csv', [split[1], ...Array.from({ length: 30_000 }, (_, i) => split[2]!.replace('45.95.146.22', ip(i))), ...Array.from({ length: 60_000 }, (_, i) => split[2 + (i % 9)]!.replace('45.95.146.22', ip(i)))].join('\n'), { template: '{scheme}://{host}{path}' }],
  ];
  it.each(cases)('%s %#', async (format, text, options) => {
    expect(text.length).toBeGreaterThan(20 * SEGMENT_BYTES);
    const whole = parseFeed(registry, format, text, options, { maxBytes: 1 << 26 });
    const segmented = await parseFeedAsync(registry, format, gzipSync(text), options, { maxBytes: 1 << 26 }, new Yielder());
    expect(segmented.set.size).toBe(whole.set.size);
    expect([...segmented.set]).toEqual([...whole.set]);
    expect(segmented.stats).toEqual(whole.stats);
    expect(whole.stats.invalid).toBeGreaterThan(0);
    expect(whole.stats.samples[0]!.line).toBeGreaterThan(20_000); // line numbers from later segments
  });
});

describe('csv in pieces', () => {
  it('cut at every line end, the pieces parse exactly like the whole text', () => {
    const texts: Array<[string, Record<string, unknown>]> = [
      [fixture('urlhaus-recent.csv').toString('utf8'), { column: 2 }],
      [fixture('urlhaus-host-path.csv').toString('utf8'), { template: '{scheme}://{host}{path}' }],
      [fixture('dshield-block.txt').toString('utf8'), { startColumn: 'start', endColumn: 'End', delimiter: '\t' }],
      ['ioc;kind\r\n"45.95.146.22";ip\r\n% c\r\n"multi\r\nline";x\r\n"a""\r\n""b";y\r\n"unterminated;x\r\n89.248.165.12;ip', { column: 'IOC', delimiter: ';', comment: '%' }],
      ['v\n1.2.3.4\n"5.6.7.8"\n"' + 'x'.repeat(300) + '\n' + 'y'.repeat(300) + '"\n9.9.9.9\n', { column: 0, header: true, maxLineLength: 200 }],
    ];
    for (const [text, options] of texts) {
      const whole = parseFeed(registry, 'csv', text, options);
      const stats = newParseStats();
      const push = csvParser.stream!(options, stats);
      const got: string[] = [];
      const pieces = text.split(/(?<=\n)/);
      for (const piece of pieces) for (const i of push(piece, false)) got.push(`${i.type} ${i.value}`);
      for (const i of push('', true)) got.push(`${i.type} ${i.value}`);
      expect([...new Set(got)]).toEqual(whole.indicators.map((i) => `${i.type} ${i.value}`));
      expect(stats).toEqual(whole.stats);
    }
  });
});

describe('line cap (maxLines)', () => {
  it('rejects a body over the cap in every parse path, naming the feed and the cap', async () => {
    expect(DEFAULT_MAX_FEED_LINES).toBe(10_000_000);
    const text = Array.from({ length: 120 }, (_, i) => ip(i)).join('\n');
    const limits = { maxLines: 100, name: 'feed-x' };
    const expected = { code: BlacklistErrors.FEED_REJECTED, message: expect.stringContaining('feed "feed-x" has more than 100 lines (maxLines)'), details: { source: 'feed-x', reason: 'line-cap', maxLines: 100 } };
    expect(caught(() => parseFeed(registry, 'plain', text, {}, limits))).toMatchObject(expected);
    await expect(parseFeedAsync(registry, 'plain', gzipSync(text), {}, limits)).rejects.toMatchObject(expected);
    await expect(parseFeedAsync(registry, 'plain', text, {}, limits)).rejects.toMatchObject(expected);
    // csv counts its lines as it goes; comment-only bodies yield nothing and are still capped
    await expect(parseFeedAsync(registry, 'csv', gzipSync(`v\n${text}`), { column: 0 }, limits)).rejects.toMatchObject(expected);
    await expect(parseFeedAsync(registry, 'plain', gzipSync('# c\n'.repeat(200)), {}, limits)).rejects.toMatchObject(expected);
    // at the cap is fine
    expect((await parseFeedAsync(registry, 'plain', gzipSync(text), {}, { maxLines: 120 })).set.size).toBe(120);
    expect(caught(() => parseFeed(registry, 'plain', text, {}, { maxLines: 0 }))).toMatchObject({ code: TipErrorCodes.CONFIG_INVALID, message: expect.stringContaining('"maxLines"') });
  });

  it('parseFeed keeps only first occurrences, in order', () => {
    const { indicators, set, stats } = parseFeed(registry, 'plain', ['1.2.3.4', '5.6.7.8', '1.2.3.4', 'a.example.com', '5.6.7.8'].join('\n'));
    expect(indicators.map((i) => i.value)).toEqual(['1.2.3.4', '5.6.7.8', 'a.example.com']);
    expect(set.size).toBe(3);
    expect(stats.records).toBe(5);
  });
});

describe('csv template', () => {
  it('builds URLs from scheme, host and path columns (URLhaus-like rows), canonicalised', () => {
    const { indicators, stats } = parseFeed(registry, 'csv', fixture('urlhaus-host-path.csv'), { template: '{scheme}://{host}{path}' });
    expect(indicators.map((i) => `${i.type} ${i.value}`)).toEqual([
      'url http://45.95.146.22/bins/mips', 'ip 45.95.146.22',
      'url http://89.248.165.12:8088/i', 'ip 89.248.165.12',
      'url https://malware-host-1.com/dl.php?id=%22quoted%22', 'domain malware-host-1.com',
      'url https://login-paypa1.net/x', 'domain login-paypa1.net',
      'url http://malware-host-2.net/', 'domain malware-host-2.net',
      'url http://[2a01:4f8:c17::1]:8080/p', 'ip 2a01:4f8:c17::1',
    ]);
    expect({ lines: stats.lines, records: stats.records, invalid: stats.invalid, skipped: stats.skipped }).toEqual({ lines: 11, records: 6, invalid: 2, skipped: 3 });
    expect(stats.samples.map((s) => [s.line, s.reason])).toEqual([[9, 'URL contains whitespace'], [10, 'missing column 3']]);
    // the host column alone collapses to hosts; by index, with literal text, without a header
    expect(parseFeed(registry, 'csv', fixture('urlhaus-host-path.csv'), { column: 'host' }).indicators.map((i) => i.value)).not.toContain('http://45.95.146.22/bins/mips');
    const tsv = parseFeed(registry, 'tsv', 'evil.example.com\t/a b\nbad.example.net\t/x\n', { template: 'https://{0}{1}', types: ['url'] });
    expect(tsv.indicators.map((i) => i.value)).toEqual(['https://bad.example.net/x']);
    expect(tsv.stats.invalid).toBe(1);
  });

  it('names a bad template', () => {
    const bad = (options: Record<string, unknown>, match: RegExp) =>
      expect(caught(() => parseFeed(registry, 'csv', 'a,b\n1,2\n', options))).toMatchObject({ code: TipErrorCodes.CONFIG_INVALID, message: expect.stringMatching(match) });
    bad({ template: 'http://{a}', column: 0 }, /"template" cannot be combined/);
    bad({ template: 'http://{a' }, /"template" has an unterminated or empty placeholder/);
    bad({ template: 'http://{}' }, /"template" has an unterminated or empty placeholder/);
    bad({ template: 'http://a}' }, /"template" has a "}" without "{"/);
    bad({ template: 'no columns' }, /"template" names no column/);
    bad({ template: 42 }, /"template" must be a non-empty string/);
    bad({ template: 'http://{host}' }, /"template" names column "host", which the header does not have/);
    bad({ template: 'http://{7}', header: true }, /"template" index 7 is beyond/);
  });
});

describe('bounded memory', () => {
  it('a gzip body expanding to 160 MiB of comment lines peaks far below its size (child process)', () => {
    // The child reports its peak RSS before and after parsing. The whole-text path holds the
    // decoded body twice (bytes and text: about +480 MiB measured), the segmented one a few
    // 64 KiB segments plus garbage-collector slack (about +20 MiB measured).
    // The built package (./dev build runs before the tests): a child cannot load the TypeScript sources.
    const mod = (p: string) => JSON.stringify(path.join(here, '..', 'dist', p));
    if (!existsSync(path.join(here, '..', 'dist', 'parsers', 'parseFeed.js'))) {
      console.warn('bounded memory: skipped, packages/plugin-blacklist/dist is not built (run ./dev build)');
      return;
    }
    const script = `
      import { gzipSync } from 'node:zlib';
      import { parseFeedAsync } from ${mod('parsers/parseFeed.js')};
      import { ParserRegistry } from ${mod('parsers/registry.js')};
      const line = '#' + 'x'.repeat(1022) + '\\n';
      // 160 gzip members of 1 MiB each (one member repeated): the child never holds 160 MiB itself
      const member = gzipSync(Buffer.from(line.repeat(1024)), { level: 9 });
      const body = Buffer.concat([...Array(160).fill(member), gzipSync('1.2.3.4\\n')]);
      globalThis.gc();
      const before = process.resourceUsage().maxRSS;
      const r = await parseFeedAsync(ParserRegistry.withDefaults(), 'plain', body, {}, { maxBytes: 256 * 1024 * 1024 });
      console.log(JSON.stringify({ before, after: process.resourceUsage().maxRSS, size: r.set.size, lines: r.stats.lines }));
    `;
    const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(child.status, child.stderr).toBe(0);
    const r = JSON.parse(child.stdout.trim()) as { before: number; after: number; size: number; lines: number };
    expect(r.size).toBe(1);
    expect(r.lines).toBe(160 * 1024 + 1);
    expect((r.after - r.before) / 1024).toBeLessThan(64); // MiB: far below the 160 MiB body
  }, 150_000);
});
