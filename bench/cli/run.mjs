// Benchmark: wall time of the `tip` CLI's read-only commands, as spawned processes, against the
// time it takes node to start and import @tip/core (the baseline, measured in the same run).
// Usage: node bench/cli/run.mjs [--runs 9]
// The config is demo-like: SQLite (migrated before measuring) and the blacklist plugin.
// Prints a table: median and min ms per command, and the median's ratio to the baseline's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'packages/cli/dist/bin.js');
const BLACKLIST = join(ROOT, 'packages/plugin-blacklist/dist/index.js');
// strict: false, because `./dev bench` passes the same arguments to every benchmark.
const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } }, strict: false });
const RUNS = Number(values.runs);

const dir = mkdtempSync(join(tmpdir(), 'tip-bench-cli-'));
const config = join(dir, 'tip.config.json');
writeFileSync(
  config,
  JSON.stringify({
    database: { url: 'sqlite:./data/tip.sqlite' },
    log: { level: 'warn' },
    scheduler: { concurrency: 4, drainTimeout: '15s' },
    plugins: [BLACKLIST],
    blacklist: { interval: '30s', weighting: { window: '30d' } },
  }),
);

/** Runs `node <args>` once from the repo root; returns its wall time in ms (throws when it fails). */
function once(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return ms;
}

const variants = [
  { name: 'node + import("@tip/core") (baseline)', args: ['--input-type=module', '-e', 'await import("@tip/core")'] },
  { name: 'tip --version', args: [BIN, '--version'] },
  { name: 'tip jobs', args: [BIN, 'jobs', '-c', config] },
  { name: 'tip status', args: [BIN, 'status', '-c', config] },
];

try {
  once([BIN, 'migrate', '-c', config]);
  for (const v of variants) once(v.args); // warm the file system cache
  const times = new Map(variants.map((v) => [v.name, []]));
  // Interleaved rounds, so a burst of load elsewhere hits every variant alike.
  for (let i = 0; i < RUNS; i++) for (const v of variants) times.get(v.name).push(once(v.args));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(times.get(variants[0].name));
  console.log(`tip CLI wall time, ${RUNS} runs each (node ${process.version}, ${new Date().toISOString()})\n`);
  console.log('| command | median ms | min ms | × baseline |');
  console.log('|---|---:|---:|---:|');
  for (const v of variants) {
    const xs = times.get(v.name);
    console.log(`| ${v.name} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${(median(xs) / base).toFixed(2)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
