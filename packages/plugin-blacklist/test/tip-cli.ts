import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// End-to-end tests through the built `tip` binary with this plugin loaded from its dist/.

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** The built CLI entry point. */
export const BIN = join(ROOT, 'packages/cli/dist/bin.js');
/** This plugin's built module, as a config's `plugins` entry names it. */
export const PLUGIN = join(ROOT, 'packages/plugin-blacklist/dist/index.js');
/** Both are built (`./dev build`); the tests through the binary are skipped otherwise. */
export const built = existsSync(BIN) && existsSync(PLUGIN);

/** What one `tip` run printed and its exit code. */
export interface TipRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary folder with a `tip.config.json` for this plugin, and `tip` run against it. */
export interface TipCli {
  /** The folder (after {@link TipCli.configure}). */
  readonly dir: string;
  /** Creates the folder and writes its config: this plugin, SQLite in the folder, `blacklist` as the plugin's section. */
  configure(blacklist: Record<string, unknown>): void;
  /** Runs `tip <args> -c <config>` (at most a minute). */
  tip(args: string[]): Promise<TipRun>;
  /** Removes the folder. */
  remove(): void;
}

/** A {@link TipCli} whose folder is named `<prefix>XXXXXX` in the system's temporary directory. */
export function tipCli(prefix: string): TipCli {
  let dir: string | undefined;
  let config = '';
  return {
    get dir() {
      if (dir === undefined) throw new Error('tipCli: configure() first');
      return dir;
    },
    configure(blacklist) {
      dir = mkdtempSync(join(tmpdir(), prefix));
      config = join(dir, 'tip.config.json');
      writeFileSync(config, JSON.stringify({ plugins: [PLUGIN], database: { url: 'sqlite:./tip.sqlite' }, blacklist }));
    },
    tip: (args) =>
      new Promise((done) => {
        execFile(process.execPath, [BIN, ...args, '-c', config], { timeout: 60_000 }, (err, stdout, stderr) =>
          done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      }),
    remove() {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
