import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root. */
export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** The built CLI entry point. */
export const BIN = join(ROOT, 'packages/cli/dist/bin.js');
/** The test plugin module. */
export const FIXTURE_PLUGIN = join(ROOT, 'packages/cli/test/fixtures/test-plugin.ts');
/**
 * Upper bound of every wait in these tests. Generous: a `tip` process costs about a second of CPU
 * to start, and the suite must pass with both cores busy and other suites running.
 */
export const WAIT_MS = 60_000;
/** Timeout of a test that spawns `tip` processes (a few of them, each possibly slow under load). */
export const SPAWN_TEST_TIMEOUT = 180_000;

/** Fails clearly when the CLI has not been built (the test command runs `tsc -b` first). */
export function requireBuild(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run node_modules/.bin/tsc -b before these tests`);
}

const dirs: string[] = [];
const children = new Set<ChildProcess>();

/** A fresh temporary folder, removed by {@link cleanup}. */
export function tempDir(prefix = 'tip-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Writes `tip.config.json` into `dir` and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = join(dir, 'tip.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** A config with a SQLite database in `dir` and the fixture plugin. */
export function fixtureConfig(dir: string, extra: Record<string, unknown> = {}, pluginOptions?: Record<string, unknown>): string {
  return writeConfig(dir, {
    database: { url: 'sqlite:./data/tip.sqlite' },
    plugins: [pluginOptions ? [FIXTURE_PLUGIN, pluginOptions] : FIXTURE_PLUGIN],
    ...extra,
  });
}

/** A spawned process with its output so far. */
export interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (signal deaths give -1); rejects after {@link WAIT_MS}. */
  exited: Promise<number>;
}

/** Spawns `node <args>` from the repo root; killed by {@link cleanup} if still running. */
export function spawnNode(args: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => (children.delete(child), resolve(code ?? -1))));
  return { child, stdout: () => out, stderr: () => err, exited: bounded(exited, `node ${args.join(' ')} to exit`, () => `${out}\n${err}`) };
}

/** Runs `tip <args>` to completion. */
export async function tip(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawnNode([BIN, ...args], env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Polls `check` until it returns a value other than undefined/false; rejects after {@link WAIT_MS}. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, context?: () => string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `\n--- output ---\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs `tip <args>` inside the test process (the CLI's `main`, the same code as the binary but
 * without a process start-up): for preparing state and checking behaviour cheaply.
 */
export async function tipInProcess(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../src/cli.js');
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--log-level', 'silent'], { out: (t) => void (stdout += t), err: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

/** Waits until the process printed a line matching `re`; returns the match. */
export function waitForOutput(p: Proc, re: RegExp): Promise<RegExpMatchArray> {
  return waitFor(`output ${re}`, () => p.stdout().match(re) ?? undefined, () => `${p.stdout()}\n${p.stderr()}`);
}

/** GETs a URL; returns status, content type and body. */
export async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** Kills every process still running and removes temporary folders (call in afterEach). */
export async function cleanup(): Promise<void> {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function bounded<T>(promise: Promise<T>, what: string, context: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}\n--- output ---\n${context()}`)), WAIT_MS);
  });
  void promise.finally(() => clearTimeout(timer));
  const raced = Promise.race([promise, timeout]);
  raced.catch(() => undefined); // only an error for callers that await it
  return raced;
}
