// Benchmark: wall time of the `tip` CLI's read-only commands, as spawned processes, against the
// time it takes node to start and import @tip/core (the baseline, measured in the same run).
// Usage: node bench/cli/run.ts [--runs 9] [--compare <other cli bin.js>]
// --compare adds the same commands run by another build of the CLI (e.g. an older commit's), same core.
// The config is demo-like: SQLite (migrated before measuring) and the blacklist plugin.
// Prints a table: wall time (median, min) and CPU time (median) per command, and the medians'
// ratios to the baseline's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'packages/cli/dist/bin.js');
const BLACKLIST = join(ROOT, 'packages/plugin-blacklist/dist/index.js');
// strict: false, because `./dev bench` passes the same arguments to every benchmark.
const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, compare: { type: 'string' } }, strict: false });
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

/**
 * CPU time (user + system, ms) of this process's waited-for children so far, from /proc (Linux;
 * 10 ms ticks): less sensitive than wall time to other load on the machine. NaN elsewhere.
 */
function childrenCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10; // cutime, cstime (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** Runs `node <args>` once from the repo root; returns its wall and CPU time in ms (throws when it fails). */
function once(args: readonly string[]): Sample {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { wall, cpu: childrenCpuMs() - cpu0 };
}

/** One spawned run's wall and CPU time in ms. */
interface Sample {
  wall: number;
  cpu: number;
}

const variants: Array<{ name: string; args: string[] }> = [
  { name: 'node + import("@tip/core") (baseline)', args: ['--input-type=module', '-e', 'await import("@tip/core")'] },
  { name: 'tip --version', args: [BIN, '--version'] },
  { name: 'tip jobs', args: [BIN, 'jobs', '-c', config] },
  { name: 'tip status', args: [BIN, 'status', '-c', config] },
];
if (typeof values.compare === 'string') {
  const other = resolve(values.compare);
  for (const cmd of ['--version', 'jobs', 'status']) {
    variants.push({ name: `tip ${cmd} (${other})`, args: [other, cmd, ...(cmd.startsWith('-') ? [] : ['-c', config])] });
  }
}

try {
  once([BIN, 'migrate', '-c', config]);
  for (const v of variants) once(v.args); // warm the file system cache
  const times = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  // Interleaved rounds, so a burst of load elsewhere hits every variant alike.
  for (let i = 0; i < RUNS; i++) for (const v of variants) times.get(v.name)!.push(once(v.args));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const wall = (name: string) => times.get(name)!.map((t) => t.wall);
  const cpu = (name: string) => times.get(name)!.map((t) => t.cpu);
  const baseWall = median(wall(variants[0]!.name));
  const baseCpu = median(cpu(variants[0]!.name));
  console.log(`tip CLI, ${RUNS} runs each, interleaved (node ${process.version}, ${new Date().toISOString()})\n`);
  console.log('| command | wall median ms | wall min ms | wall × baseline | CPU median ms | CPU × baseline |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const v of variants) {
    const w = wall(v.name);
    const c = cpu(v.name);
    const row = [median(w).toFixed(0), Math.min(...w).toFixed(0), (median(w) / baseWall).toFixed(2), median(c).toFixed(0), (median(c) / baseCpu).toFixed(2)];
    console.log(`| ${v.name} | ${row.join(' | ')} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
