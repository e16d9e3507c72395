// Benchmark: source metrics (entry- and address-level) and the service's weights step.
//   (a) metrics of the 10 FireHOL corpus lists vs `iprange --compare` on the same files, same run;
//   (b) weights step on SQLite at 1M listings after 30 cycles of history (1% churn per cycle):
//       full computation without the listing cache (one child process, for its peak RSS); then in
//       another child: the cold step that fills the app's listing cache, one more 1%-churn ingest,
//       the incremental step after it (reads only the delta) and a step with nothing changed
//       (reuse) — each against the 1%-churn ingest (measured in the same run, and in the child);
//   (c) the address sweep alone on S sources × N entries each (default 50 × 1M).
// Usage: node --expose-gc bench/blacklist/metrics.ts [--n 1000000] [--cycles 30] [--sweep-sources 50] [--sweep-per 1000000] [--parts a,b,c]
// Goals: (a) metrics ≤ 5× iprange --compare; (b) the weights step a small fraction of the ingest,
// peak RSS a small multiple of the listing count; (c) seconds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createTip } from '@tip/core';
import blacklist, { BlacklistToken, ParserRegistry, parseFeed } from '@tip/plugin-blacklist';
// Internal modules (not part of the package's public API), from the built package.
import { Allowlist } from '../../packages/plugin-blacklist/dist/allowlists/index.js';
import { computeSourceMetrics, type ListingRecord } from '../../packages/plugin-blacklist/dist/weighting/index.js';
import { IntervalCollector, mergeIntervals, sweep, type Intervals } from '../../packages/plugin-blacklist/dist/weighting/intervals.js';
import { weightsStep } from '../../packages/plugin-blacklist/dist/service/weights.js';
import { ListingCache } from '../../packages/plugin-blacklist/dist/weighting/listingCache.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    cycles: { type: 'string', default: '30' },
    'sweep-sources': { type: 'string', default: '50' },
    'sweep-per': { type: 'string', default: '1000000' },
    parts: { type: 'string', default: 'a,b,c' },
    child: { type: 'string' },
    url: { type: 'string' },
    now: { type: 'string' },
    feed: { type: 'string' },
    // options of the other blacklist benches (`./dev bench` passes the same arguments to all): ignored
    dialects: { type: 'string' },
    churn: { type: 'string' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const silent = pino({ level: 'silent' });
const DAY = 86_400_000;
const WINDOW = 30 * DAY;
const mib = () => process.resourceUsage().maxRSS / 1024;
const f = (n: number, w: number, d = 0): string => n.toFixed(d).padStart(w);
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

// ---- child: one weights step on an existing database, printing time and peak RSS -------------
if (values.child) {
  const app = await createTip({ logger: silent, config: { database: { url: values.url! }, scheduler: { enabled: false } }, plugins: [blacklist()] });
  await app.start();
  const base = mib();
  let out: Record<string, unknown> = { baseRss: base };
  const now = Number(values.now);
  const options = { windowMs: WINDOW, overlap: 'containment' as const, allowlist: Allowlist.builtIn() };
  if (values.child === 'full') {
    globalThis.gc?.();
    const t = process.hrtime.bigint();
    // not stored: the next child's cold step must compute, not reuse these rows
    const r = await weightsStep(app.db, { ...options, now, incremental: false, store: false });
    out = { ...out, ms: ms(t), reused: r.reused, loaded: r.loaded, sources: r.metrics.length };
  } else if (values.child === 'incremental') {
    // the cache is per app (the service holds one); here the bench holds it to read its size
    const cache = new ListingCache();
    const heap = async () => {
      // twice, with a turn between: array buffers are freed once their wrappers are collected
      for (let i = 0; i < 2; i++) {
        globalThis.gc?.();
        await new Promise((r) => setImmediate(r));
      }
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = await heap();
    let t = process.hrtime.bigint();
    const cold = await weightsStep(app.db, { ...options, now, cache });
    const coldMs = ms(t);
    const coldRss = mib();
    const retained = (await heap()) - before;
    // more 1%-churn cycles of the big feed, one hour apart, each followed by the incremental step
    const ingests: number[] = [];
    const steps: number[] = [];
    let inc = cold;
    let at = now - 60_000;
    for (const file of values.feed!.split(',')) {
      const set = parseFeed(ParserRegistry.withDefaults(), 'plain', readFileSync(file, 'utf8'), {}, 256 * 1024 * 1024).set;
      at += 3_600_000;
      t = process.hrtime.bigint();
      await app.get(BlacklistToken).ingester.snapshot({ sourceId: 'big', startedAt: at, now: at }, set, { maxInvalidRatio: 0.25, allowEmpty: false, maxRemovedRatio: 1 });
      ingests.push(ms(t));
      globalThis.gc?.();
      t = process.hrtime.bigint();
      inc = await weightsStep(app.db, { ...options, now: at + 60_000, cache });
      steps.push(ms(t));
      if (inc.load !== 'delta' || inc.reused) throw new Error(`expected an incremental step: ${JSON.stringify({ load: inc.load, reused: inc.reused })}`);
    }
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const ingestMs = mid(ingests);
    const incMs = mid(steps);
    t = process.hrtime.bigint();
    const same = await weightsStep(app.db, { ...options, now: at + 120_000, cache });
    const sameMs = ms(t);
    out = {
      ...out,
      coldMs,
      coldRss,
      coldLoad: cold.load,
      loaded: cold.loaded,
      retained,
      cacheBytes: inc.cacheBytes,
      cacheRows: inc.cacheRows,
      ingestMs,
      ingests: ingests.map((x) => Math.round(x)).join(', '),
      incMs,
      steps: steps.map((x) => Math.round(x)).join(', '),
      incLoad: inc.load,
      incRead: inc.read,
      incReused: inc.reused,
      sameMs,
      sameReused: same.reused,
      sameRead: same.read,
    };
  }
  await app.stop();
  console.log(JSON.stringify({ ...out, rss: mib() }));
  process.exit(0);
}

const parts = new Set(values.parts.split(','));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// ---- (a) corpus vs iprange ---------------------------------------------------------------------
if (parts.has('a')) {
  const corpus = resolve(here, '../../../shared/corpus/blocklists/ip');
  const hasIprange = spawnSync('iprange', ['--has-compare']).status === 0;
  if (!existsSync(corpus) || !hasIprange) console.log(`\n(a) SKIPPED: ${!existsSync(corpus) ? `no corpus at ${corpus}` : 'iprange not installed'}`);
  else {
    const files = readdirSync(corpus).filter((x) => /\.(ipset|netset)$/.test(x)).sort();
    const now = Date.now();
    const listings: ListingRecord[] = files.flatMap((file) =>
      readFileSync(join(corpus, file), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((value) => ({ source: file, type: value.includes('/') ? ('cidr' as const) : ('ip' as const), value, firstSeen: now - 1000, lastSeen: now })),
    );
    const allow = Allowlist.builtIn();
    // Wall time (median of 15) and CPU time (user + system; robust to a busy machine): ours from
    // process.cpuUsage(), iprange's from the shell's `times` for its children.
    const wall = { tip: [] as number[], bare: [] as number[], ipr: [] as number[] };
    const cpu = { tip: [] as number[], bare: [] as number[], ipr: [] as number[] };
    // steady state, as in a running service: 5 warm-up runs, no forced GC between runs
    for (let i = 0; i < 5; i++) computeSourceMetrics({ now, windowMs: DAY, sources: files, listings, runs: [], allowlist: allow });
    const measure = (into: 'tip' | 'bare', fn: () => unknown) => {
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      fn();
      wall[into].push(ms(t));
      const d = process.cpuUsage(c);
      cpu[into].push((d.user + d.system) / 1000);
    };
    const secs = (x: string) => {
      const m = /(\d+)m([\d.]+)s/.exec(x)!;
      return (Number(m[1]) * 60 + Number(m[2])) * 1000;
    };
    for (let i = 0; i < 15; i++) {
      measure('tip', () => computeSourceMetrics({ now, windowMs: DAY, sources: files, listings, runs: [], allowlist: allow }));
      measure('bare', () => computeSourceMetrics({ now, windowMs: DAY, sources: files, listings, runs: [] }));
      const t = process.hrtime.bigint();
      const r = spawnSync('bash', ['-c', 'iprange --compare "$@" > /dev/null; times', 'bash', ...files.map((x) => join(corpus, x))], { encoding: 'utf8' });
      wall.ipr.push(ms(t));
      const [u, sy] = r.stdout.trim().split('\n').pop()!.split(' ');
      cpu.ipr.push(secs(u!) + secs(sy!));
    }
    console.log(`\n(a) metrics of the ${files.length} FireHOL corpus lists (${listings.length.toLocaleString('en')} entries), 15 runs each after 5 warm-up runs (medians), Node ${process.version}`);
    console.log(`${'variant'.padEnd(50)}${'wall ms'.padStart(9)}${'vs iprange'.padStart(12)}${'CPU ms'.padStart(9)}${'vs iprange'.padStart(12)}`);
    const row = (name: string, k: 'tip' | 'bare' | 'ipr') =>
      console.log(`${name.padEnd(50)}${f(median(wall[k]), 9, 1)}${f(median(wall[k]) / median(wall.ipr), 11, 1)}x${f(median(cpu[k]), 9, 1)}${f(median(cpu[k]) / Math.max(1, median(cpu.ipr)), 11, 1)}x`);
    row('iprange --compare (all pairs, process included)', 'ipr');
    row('computeSourceMetrics, built-in allow-list', 'tip');
    row('computeSourceMetrics, no allow-list', 'bare');
    const tip = wall.tip;
    const ipr = wall.ipr;
    console.log(`goal ≤ 5x iprange (wall): ${median(tip) / median(ipr) <= 5 ? 'met' : 'NOT met'}`);
  }
}

// ---- (b) weights step at 1M listings with 30 cycles of history --------------------------------
if (parts.has('b')) {
  const N = Number(values.n);
  const CYCLES = Number(values.cycles);
  const CHURN = Math.round(N * 0.01);
  // churn cycles after the history, run in the incremental child (an ingest, then the incremental step)
  const EXTRA = 3;
  let seed = 7;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const ip = () => {
    let a;
    do a = 11 + (rnd() % 212);
    while (a === 127);
    return `${a}.${rnd() % 256}.${rnd() % 256}.${1 + (rnd() % 254)}`;
  };
  const unique = new Set<string>();
  while (unique.size < N + CHURN * (CYCLES + EXTRA)) unique.add(ip());
  const all = [...unique];
  const registry = ParserRegistry.withDefaults();
  const feed = (k: number) => parseFeed(registry, 'plain', `${all.slice(k * CHURN, k * CHURN + N).join('\n')}\n`, {}, 256 * 1024 * 1024).set;
  // two small sources overlapping the big one, with some CIDRs
  const small = (from: number) => parseFeed(registry, 'plain', `${all.slice(from, from + 20_000).join('\n')}\n${Array.from({ length: 200 }, (_, i) => `${20 + (i % 100)}.${i}.0.0/16`).join('\n')}\n`, {}, 1 << 26).set;

  const dir = mkdtempSync(join(tmpdir(), 'tip-blmetrics-'));
  const url = `sqlite:${join(dir, 'tip.sqlite')}`;
  const setup = await createTip({ logger: silent, config: { database: { url } }, plugins: [blacklist()] });
  await setup.migrate();
  const app = await createTip({ logger: silent, config: { database: { url }, scheduler: { enabled: false } }, plugins: [blacklist()] });
  await app.start();
  const ing = app.get(BlacklistToken).ingester;
  const policy = { maxInvalidRatio: 0.25, allowEmpty: false, maxRemovedRatio: 1 };
  for (const id of ['big', 'small1', 'small2']) await ing.upsertSource({ id, title: id, format: 'plain', category: 'scanner', origin: 'feed', enabled: true }, 1);
  const start = Date.now() - (CYCLES + 1) * 3_600_000;
  const at = (k: number) => start + k * 3_600_000;
  let t = process.hrtime.bigint();
  await ing.snapshot({ sourceId: 'big', startedAt: at(0), now: at(0) }, feed(0), policy);
  const firstMs = ms(t);
  await ing.snapshot({ sourceId: 'small1', startedAt: at(0), now: at(0) }, small(0), policy);
  await ing.snapshot({ sourceId: 'small2', startedAt: at(0), now: at(0) }, small(N / 2), policy);
  const churnMs: number[] = [];
  for (let k = 1; k <= CYCLES; k++) {
    const set = feed(k);
    t = process.hrtime.bigint();
    await ing.snapshot({ sourceId: 'big', startedAt: at(k), now: at(k) }, set, policy);
    churnMs.push(ms(t));
  }
  await app.stop();
  const now = at(CYCLES) + 60_000;
  const child = (mode: string, when: number) => {
    const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', mode, '--url', url, '--now', String(when)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`child ${mode}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; rss: number; baseRss: number; reused: boolean; loaded: number };
  };
  const feedFiles = Array.from({ length: EXTRA }, (_, i) => {
    const file = join(dir, `cycle-${CYCLES + 1 + i}.txt`);
    writeFileSync(file, `${all.slice((CYCLES + 1 + i) * CHURN, (CYCLES + 1 + i) * CHURN + N).join('\n')}\n`);
    return file;
  });
  const idle = child('idle', now);
  const full = child('full', now);
  const inc = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', 'incremental', '--url', url, '--now', String(now), '--feed', feedFiles.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (inc.status !== 0) throw new Error(`child incremental: ${inc.stderr}`);
  const c = JSON.parse(inc.stdout.trim().split('\n').pop()!) as Record<string, number | string | boolean>;
  rmSync(dir, { recursive: true, force: true });
  if (full.reused || c.coldLoad !== 'full' || c.incLoad !== 'delta' || c.incReused || !c.sameReused) throw new Error(`unexpected step kinds: ${JSON.stringify(c)}`);
  const churn = median(churnMs);
  const n = (k: string) => Number(c[k]);
  console.log(`\n(b) weights step on SQLite: ${N.toLocaleString('en')}-entry feed + 2 × 20,200 entries, ${CYCLES} cycles of 1% churn → ${full.loaded.toLocaleString('en')} listing rows in the 30-day window`);
  console.log(`${'step'.padEnd(80)}${'ms'.padStart(9)}${'vs 1% ingest'.padStart(14)}${'peak RSS MiB'.padStart(14)}${'RSS − app MiB'.padStart(15)}`);
  const row = (name: string, v: number | null, rss?: number) =>
    console.log(`${name.padEnd(80)}${v === null ? ''.padStart(9) : f(v, 9)}${v === null ? ''.padStart(14) : `${f(v / churn, 13, 2)}x`}${rss === undefined ? ''.padStart(14) : f(rss, 14)}${rss === undefined ? ''.padStart(15) : f(rss - idle.rss, 15)}`);
  console.log(`${'ingest: first load of the feed (baseline)'.padEnd(80)}${f(firstMs, 9)}`);
  row('ingest: one 1%-churn cycle (baseline, median of the run)', churn);
  row('app started, no weights step (child)', null, idle.rss);
  row('weights step, full, no cache (child 1)', full.ms, full.rss);
  row('weights step, cold: fills the listing cache (child 2)', n('coldMs'), n('coldRss'));
  row(`ingest: ${EXTRA} more 1%-churn cycles (child 2; ${c.ingests})`, n('ingestMs'));
  row(`weights step, incremental after each (${c.steps}; ${n('incRead').toLocaleString('en')} rows read)`, n('incMs'));
  row('weights step, nothing changed: reused (child 2)', n('sameMs'));
  console.log(`incremental step: ${(n('incMs') / churn).toFixed(2)}x the median 1%-churn ingest (${(n('incMs') / n('ingestMs')).toFixed(2)}x the child's own); goal ≤ 0.5x: ${n('incMs') / churn <= 0.5 ? 'met' : 'NOT met'}`);
  console.log(`bytes of extra peak RSS per listing row: full ${(((full.rss - idle.rss) * 1048576) / full.loaded).toFixed(0)}, cold with cache ${(((n('coldRss') - idle.rss) * 1048576) / n('loaded')).toFixed(0)}`);
  console.log(`listing cache: ${n('cacheRows').toLocaleString('en')} rows, ${(n('cacheBytes') / 1048576).toFixed(1)} MiB = ${(n('cacheBytes') / n('cacheRows')).toFixed(0)} B/row (57 B/row of columns + spare room); heap + array buffers retained after the cold step ${(n('retained') / 1048576).toFixed(1)} MiB = ${(n('retained') / n('loaded')).toFixed(0)} B/row`);
}

// ---- (c) the sweep alone on many large sources ---------------------------------------------------
if (parts.has('c')) {
  const S = Number(values['sweep-sources']);
  const PER = Number(values['sweep-per']);
  let seed = 99;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  // Each source: PER entries, 98% single addresses, 2% blocks /16../28, anywhere in 11.0.0.0–222.255.255.255.
  const sets: Intervals[] = [];
  let mergeMs = 0;
  for (let s = 0; s < S; s++) {
    const c = new IntervalCollector(PER);
    for (let i = 0; i < PER; i++) {
      const a = 11 * 2 ** 24 + (rnd() % (212 * 2 ** 24));
      if (i % 50 === 0) {
        const size = 2 ** (4 + (rnd() % 13));
        const lo = a - (a % size);
        c.add(lo, lo + size);
      } else c.add(a, a + 1);
    }
    const t = process.hrtime.bigint();
    sets.push(mergeIntervals(c));
    mergeMs += ms(t);
  }
  globalThis.gc?.();
  const t = process.hrtime.bigint();
  const steps = sweep(sets, {}, false);
  let r = steps.next();
  while (!r.done) r = steps.next();
  const sweepMs = ms(t);
  const boundaries = sets.reduce((n, x) => n + 2 * x.start.length, 0);
  console.log(`\n(c) address sweep: ${S} sources × ${PER.toLocaleString('en')} entries (98% /32, 2% /16–/28)`);
  console.log(`${'step'.padEnd(44)}${'ms'.padStart(9)}`);
  console.log(`${`merge each source's ranges (${S} sorts)`.padEnd(44)}${f(mergeMs, 9)}`);
  console.log(`${`sweep over ${boundaries.toLocaleString('en')} boundaries`.padEnd(44)}${f(sweepMs, 9)}`);
  console.log(`covering classes: ${r.value.classes.length.toLocaleString('en')}; peak RSS ${mib().toFixed(0)} MiB`);
}
