// Benchmark: hostile feed bodies through the whole blacklist pipeline (local HTTP server → fetch →
// parse → ingest into SQLite), each scenario in its own child process reporting its peak RSS
// (process.resourceUsage().maxRSS), run status and listings before/after:
//   baseline   a normal feed with the same unique count as the bomb (one address)
//   bomb       a gzip (~0.4 MB) expanding to 250 MiB of one IP repeated: default maxLines (10M)
//   bomb, cap raised           the same, parsed to the end (maxLines 1e9): segmented decoding
//   bomb as csv                the same body read as a one-column CSV (segmented too)
//   bomb, decoded whole        the same body through a copy of the plain parser that does not opt
//                              into segments (decoded whole, as every format was before)
//   full feed / cut in half    23,723 unique addresses, then the first half (well-framed gzip)
// Usage: node --expose-gc bench/blacklist/hostile.ts [--mib 250] [--unique 23723]
// Goal: the bomb's peak RSS stays a small multiple of the baseline's (<= 3x); the half feed is rejected.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createGzip, gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { createTip, executeRaw } from '@tip/core';
import blacklist, { defaultParsers } from '@tip/plugin-blacklist';

const plain = defaultParsers().find((p) => p.format === 'plain')!;

// not strict: `./dev bench` passes every benchmark the same arguments
const { values } = parseArgs({ strict: false, options: { mib: { type: 'string', default: '250' }, unique: { type: 'string', default: '23723' }, child: { type: 'string' } } });

/** What a child runs: feed bodies (files) served one per run, feed settings. */
interface Scenario {
  name: string;
  bodies: string[];
  format: string;
  options?: Record<string, unknown>;
  maxLines?: number;
}
/** What a child reports. */
interface Outcome {
  status: string;
  reason: string;
  before: number;
  after: number;
  rssMiB: number;
  ms: number;
}

if (typeof values.child === 'string') {
  const s = JSON.parse(values.child) as Scenario;
  const dir = mkdtempSync(join(tmpdir(), 'tip-blhostile-'));
  let body: Buffer = Buffer.alloc(0);
  const server = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed`;
  try {
    const app = await createTip({
      logger: pino({ level: 'silent' }),
      config: {
        database: { url: `sqlite:${join(dir, 'tip.sqlite')}` },
        blacklist: {
          ...(s.maxLines === undefined ? {} : { maxLines: s.maxLines }),
          feeds: [{ id: 'hostile', url, format: s.format, options: s.options, category: 'scanner', maxBytes: 300 * 1024 * 1024, timeout: '30m' }],
        },
      },
      // `plain-whole`: the plain parser without `lineIndependent`, so the body is decoded whole
      plugins: [blacklist({ parsers: [{ format: 'plain-whole', parse: (text, options, stats) => plain.parse(text, options, stats) }] })],
    });
    await app.start({ schedule: false });
    const listed = async () => Number((await executeRaw<{ n: number }>(app.em(), `select count(*) as n from bl_listing where source_id = 'hostile' and removed_at is null`)).rows[0]!.n);
    let before = 0;
    let ms = 0;
    for (const [i, file] of s.bodies.entries()) {
      body = readFileSync(file);
      if (i === s.bodies.length - 1) before = await listed();
      const t = performance.now();
      await app.scheduler.trigger('blacklist');
      ms = performance.now() - t;
    }
    const run = (await executeRaw<{ status: string; error: string | null }>(app.em(), `select status, error from bl_source_run order by id desc`)).rows[0]!;
    const reason = /line-cap|maxLines/.test(run.error ?? '') ? 'line cap' : /would remove/.test(run.error ?? '') ? 'shrink guard' : run.error ? run.error.slice(0, 40) : '';
    const out: Outcome = { status: run.status, reason, before, after: await listed(), rssMiB: process.resourceUsage().maxRSS / 1024, ms };
    await app.stop();
    console.log(JSON.stringify(out));
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const MIB = Number(values.mib);
const UNIQUE = Number(values.unique);
const dir = mkdtempSync(join(tmpdir(), 'tip-blhostile-'));
const file = (name: string, data: Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
try {
  // The bomb: one address repeated, gzip-compressed as a stream (the parent never holds it decoded).
  const bomb = join(dir, 'bomb.gz');
  const gz = createGzip({ level: 9 });
  const sink = createWriteStream(bomb);
  gz.pipe(sink);
  const line = '1.2.3.4\n';
  const chunk = Buffer.from(line.repeat((1024 * 1024) / line.length));
  for (let i = 0; i < MIB; i++) if (!gz.write(chunk)) await once(gz, 'drain');
  gz.end();
  await once(sink, 'finish');
  const lines = (MIB * 1024 * 1024) / line.length;
  const single = file('single.gz', gzipSync(line));
  const addresses = Array.from({ length: UNIQUE }, (_, i) => `${11 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.${1 + (i % 250)}`);
  const full = file('full.gz', gzipSync(`${addresses.join('\n')}\n`));
  const half = file('half.gz', gzipSync(`${addresses.slice(0, Math.floor(UNIQUE / 2)).join('\n')}\n`));

  const scenarios: Array<Scenario & { body: string; lines: number; unique: number }> = [
    { name: 'baseline: 1-line feed (same unique count)', bodies: [single], format: 'plain', body: single, lines: 1, unique: 1 },
    { name: `bomb ${MIB} MiB, default maxLines`, bodies: [bomb], format: 'plain', body: bomb, lines, unique: 1 },
    { name: `bomb ${MIB} MiB, maxLines 1e9 (segmented)`, bodies: [bomb], format: 'plain', maxLines: 1e9, body: bomb, lines, unique: 1 },
    { name: `bomb ${MIB} MiB as csv (segmented)`, bodies: [bomb], format: 'csv', options: { column: 0 }, maxLines: 1e9, body: bomb, lines, unique: 1 },
    { name: `bomb ${MIB} MiB, decoded whole (before)`, bodies: [bomb], format: 'plain-whole', maxLines: 1e9, body: bomb, lines, unique: 1 },
    { name: `full feed, ${UNIQUE.toLocaleString('en')} unique`, bodies: [full], format: 'plain', body: full, lines: UNIQUE, unique: UNIQUE },
    { name: 'then the same feed cut in half', bodies: [full, half], format: 'plain', body: half, lines: Math.floor(UNIQUE / 2), unique: Math.floor(UNIQUE / 2) },
  ];
  const rows: Array<{ s: (typeof scenarios)[number]; o: Outcome }> = [];
  for (const s of scenarios) {
    const child = spawnSync(process.execPath, ['--expose-gc', import.meta.filename, '--child', JSON.stringify(s)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (child.status !== 0) throw new Error(`${s.name}: child failed\n${child.stderr}`);
    rows.push({ s, o: JSON.parse(child.stdout.trim().split('\n').pop()!) as Outcome });
  }

  const base = rows[0]!.o.rssMiB;
  const p = (v: string | number, w: number) => String(v).padStart(w);
  console.log(`\nbench/blacklist/hostile: hostile bodies through fetch → parse → ingest (SQLite), one child process each (Node ${process.version})\n`);
  console.log(`${'scenario'.padEnd(44)}${p('gzip KiB', 10)}${p('lines', 12)}${p('unique', 8)}${p('status', 10)}${p('reason', 14)}${p('listings', 16)}${p('peak RSS MiB', 14)}${p('vs base', 9)}${p('run ms', 9)}`);
  for (const { s, o } of rows) {
    const kib = (statSync(s.body).size / 1024).toFixed(0);
    console.log(`${s.name.padEnd(44)}${p(kib, 10)}${p(s.lines.toLocaleString('en'), 12)}${p(s.unique.toLocaleString('en'), 8)}${p(o.status, 10)}${p(o.reason, 14)}${p(`${o.before} → ${o.after}`, 16)}${p(o.rssMiB.toFixed(0), 14)}${p(`${(o.rssMiB / base).toFixed(2)}x`, 9)}${p(o.ms.toFixed(0), 9)}`);
  }
  const segmented = rows[2]!.o;
  const cut = rows[6]!.o;
  console.log(`\ngoals: bomb peak RSS <= 3x baseline: ${segmented.rssMiB / base <= 3 ? 'met' : 'NOT met'} (${(segmented.rssMiB / base).toFixed(2)}x); ` +
    `half feed rejected, listings kept: ${cut.status === 'rejected' && cut.after === cut.before ? 'met' : 'NOT met'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
