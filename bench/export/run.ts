// Benchmark: export writers and CIDR aggregation on N ip/cidr entries (writer level, no database),
// against baselines measured in the same run: the `plain` export without aggregation (the cost of
// writing the same entries) and `iprange --optimize` on the unaggregated file (the reference tool,
// spawned; skipped when not installed).
// Usage: node --expose-gc bench/export/run.ts [--n 1000000]
// Goal: `plain --aggregate` costs at most 2x the csv export of the same entries (which formats every
// entry's metadata, as aggregation merges it); the plain export is the floor (writing values only).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeExport, type ExportEntry, type ExportMeta, type WriteExportResult } from '@tip/plugin-blacklist';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1000000' } } });
const N = Number(values.n);
const META: ExportMeta = { name: 'bench', generatedAt: new Date('2026-01-01T00:00:00Z') };

// Deterministic input: 70% single IPv4 addresses in a dense region (so neighbours merge), 20% /24s
// (some covering addresses), 5% /16s, 5% IPv6 /64s and addresses.
let seed = 7;
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }; // xorshift32
const at = new Date('2026-01-01T00:00:00Z');
const entries: ExportEntry[] = [];
for (let i = 0; i < N; i++) {
  const k = rnd() % 100;
  const a = 11 + (rnd() % 100);
  let value: string;
  if (k < 70) value = `${a}.${rnd() % 64}.${rnd() % 256}.${rnd() % 256}`;
  else if (k < 90) value = `${a}.${rnd() % 64}.${rnd() % 256}.0/24`;
  else if (k < 95) value = `${a}.${rnd() % 256}.0.0/16`;
  else value = k < 98 ? `2a01:4f8:${(rnd() % 4096).toString(16)}:${(rnd() % 65536).toString(16)}::/64` : `2a01:4f8:${(rnd() % 4096).toString(16)}::${(rnd() % 65536).toString(16)}`;
  entries.push({ type: value.includes('/') ? 'cidr' : 'ip', value, score: (rnd() % 100) / 100, firstSeen: at, lastSeen: at, sources: [`s${rnd() % 8}`], categories: ['scanner'] });
}

const dir = mkdtempSync(join(tmpdir(), 'tip-export-bench-'));
const rss = () => process.resourceUsage().maxRSS / 1024;
async function run(format: string, aggregate?: boolean): Promise<{ ms: number; text: string; r: WriteExportResult }> {
  globalThis.gc?.();
  const parts: string[] = [];
  const t = process.hrtime.bigint();
  const r = await writeExport(format, entries, META, (c) => void parts.push(c), undefined, aggregate === undefined ? {} : { aggregate });
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, text: parts.join(''), r };
}

const plain = await run('plain', false);
const aggregated = await run('plain', true);
const rows: Array<[string, number, number, string]> = [
  ['plain (baseline)', plain.ms, plain.r.written, ''],
  ['plain --aggregate', aggregated.ms, aggregated.r.written, `${aggregated.r.aggregated!.entries} -> ${aggregated.r.aggregated!.blocks} blocks`],
];
for (const format of ['csv', 'json', 'ipset', 'nftables', 'misp']) {
  const x = await run(format);
  rows.push([`${format}${x.r.aggregated ? ' (aggregated)' : ''}`, x.ms, x.r.written, `${(x.r.bytes / 1048576).toFixed(1)} MiB`]);
}
const hasIprange = spawnSync('iprange', ['--has-compare']).status === 0;
let iprangeMs: number | undefined;
if (hasIprange) {
  const file = join(dir, 'v4.txt');
  writeFileSync(file, plain.text.split('\n').filter((l) => l && !l.startsWith('#') && !l.includes(':')).join('\n'));
  const t = process.hrtime.bigint();
  const ref = spawnSync('iprange', ['--optimize', file], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  iprangeMs = Number(process.hrtime.bigint() - t) / 1e6;
  const ours = aggregated.text.split('\n').filter((l) => l && !l.startsWith('#') && !l.includes(':'));
  const theirs = ref.stdout.split('\n').filter(Boolean);
  if (ours.length !== theirs.length || ours.some((v, i) => v !== theirs[i])) throw new Error('aggregation differs from iprange --optimize');
  rows.push(['iprange --optimize (IPv4 only, tool)', iprangeMs, theirs.length, 'same blocks as ours']);
}
rmSync(dir, { recursive: true, force: true });

const f = (n: number, w: number, d = 0): string => n.toFixed(d).padStart(w);
console.log(`\nbench/export: ${N.toLocaleString('en')} ip/cidr entries (Node ${process.version})\n`);
console.log(`${'variant'.padEnd(38)}${'ms'.padStart(9)}${'vs plain'.padStart(10)}${'written'.padStart(11)}  note`);
for (const [name, ms, written, note] of rows) console.log(`${name.padEnd(38)}${f(ms, 9)}${f(ms / plain.ms, 9, 2)}x${f(written, 11)}  ${note}`);
console.log(`peak RSS ${rss().toFixed(0)} MiB`);
const csvMs = rows.find(([name]) => name === 'csv')![1];
const ratio = aggregated.ms / csvMs;
console.log(`\ngoal: plain --aggregate <= 2x the csv export: ${ratio.toFixed(2)}x, ${ratio <= 2 ? 'met' : 'NOT met'}${iprangeMs === undefined ? ' (iprange not installed: reference skipped)' : ''}`);
