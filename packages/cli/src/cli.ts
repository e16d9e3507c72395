import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMON_OPTIONS, type Command, type OptionSpec } from './commandSpec.js';
import { jobsCommand } from './commands/jobs.js';
import { migrateCommand } from './commands/migrate.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { triggerCommand } from './commands/trigger.js';
import { ExitCodes, HintedError, UsageError, processIO, reportHinted, type CliIO } from './errors.js';

/** Every `tip` subcommand, in help order. */
export const COMMANDS: readonly Command[] = [runCommand, statusCommand, jobsCommand, triggerCommand, migrateCommand];

/** The CLI's version (from its package.json). */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `tip --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'tip: run and inspect a TIP (Tracking Intelligence Project) deployment',
    '',
    'Usage: tip <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Plugins add their own commands (e.g. "tip blacklist export"); they are listed when a',
    'command is unknown to the config\'s plugins.',
    'Every command takes -c, --config <file> (default ./tip.config.json) and --help.',
    'Exit codes: 0 ok, 1 failure, 2 usage error.',
    '',
  ].join('\n');
}

/** `tip <command> --help`. */
export function commandHelp(command: Command): string {
  const options = { ...command.options, ...COMMON_OPTIONS };
  const flags = Object.entries(options).map(([name, o]) => [flagText(name, o), o.description + (o.default !== undefined && o.default !== false ? ` (default ${String(o.default)})` : '')] as const);
  const width = Math.max(...flags.map(([f]) => f.length));
  return [
    `Usage: tip ${command.name}${command.args ? ` ${command.args}` : ''} [options]`,
    '',
    `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.`,
    ...(command.description ? [command.description] : []),
    '',
    'Options:',
    ...flags.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`),
    '',
  ].join('\n');
}

function flagText(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.valueName ?? '<value>'}` : ''}`;
}

/**
 * Runs the `tip` command line.
 *
 * @param argv the arguments after `tip` (`process.argv.slice(2)`)
 * @returns the exit code: 0 ok, 1 failure, 2 usage error
 */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(mainHelp());
    return ExitCodes.USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    io.out(topic ? commandHelp(topic) : mainHelp());
    return ExitCodes.OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${CLI_VERSION}\n`);
    return ExitCodes.OK;
  }
  const verbose = rest.includes('--verbose') || rest.includes('-v');
  try {
    const command = COMMANDS.find((c) => c.name === name);
    // Not a built-in: a command contributed by a plugin of the config (`tip blacklist export`).
    if (!command) {
      const { runPluginCommand } = await import('./pluginCommands.js');
      return await runPluginCommand(argv, io, COMMANDS.map((c) => c.name));
    }
    const options = Object.fromEntries(
      Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([k, { type, short, default: def }]) => [
        k,
        { type, ...(short === undefined ? {} : { short }), ...(def === undefined ? {} : { default: def }) },
      ]),
    ) as NonNullable<ParseArgsConfig['options']>;
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true }) as typeof parsed;
    } catch (err) {
      const e = err as Error & { code?: string };
      const flag = /'([^']+)'/.exec(e.message)?.[1];
      const message = e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag ? `unknown option "${flag}"` : e.message.split('\n')[0]!;
      throw new UsageError(message, `see "tip ${command.name} --help"`);
    }
    if (parsed.values.help) {
      io.out(commandHelp(command));
      return ExitCodes.OK;
    }
    const { min, max } = command.positionals ?? { min: 0, max: 0 };
    if (parsed.positionals.length < min) throw new UsageError(`missing argument ${command.args ?? ''}`.trim(), `usage: tip ${command.name} ${command.args ?? ''} [options]`);
    if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`, `see "tip ${command.name} --help"`);
    return await command.run({ io, values: parsed.values, positionals: parsed.positionals, verbose });
  } catch (err) {
    if (err instanceof HintedError) return reportHinted(io, err, verbose);
    // Loaded on use: a usage mistake is answered without @tip/core.
    const { reportError } = await import('./report.js');
    return reportError(io, err, verbose);
  }
}
