import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CorePoints, isTipError, TipErrorCodes, type CommandDefinition, type CommandOption } from '@tip/core';
import { openApp, startedFor, type OpenedApp } from './command.js';
import { COMMON_OPTIONS, type CommandContext } from './commandSpec.js';
import { ExitCodes, UsageError, type CliIO } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

function toParseArgs(options: Record<string, CommandOption | (typeof COMMON_OPTIONS)[string]>): Options {
  return Object.fromEntries(
    Object.entries(options).map(([k, o]) => [
      k,
      {
        type: o.type,
        ...(o.short === undefined ? {} : { short: o.short }),
        ...(o.default === undefined ? {} : { default: o.default }),
        ...('multiple' in o && o.multiple ? { multiple: true } : {}),
      },
    ]),
  ) as Options;
}

/**
 * `tip <plugin command> --help`, from the command's declared options (the app is not started).
 * @internal
 */
export function pluginCommandHelp(command: CommandDefinition): string {
  const options = { ...(command.options ?? {}), ...COMMON_OPTIONS };
  const flags = Object.entries(options).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.valueName ?? '<value>'}` : ''}`,
    o.description + (o.default !== undefined && o.default !== false ? ` (default ${String(o.default)})` : ''),
  ] as const);
  const width = Math.max(...flags.map(([f]) => f.length));
  return [`Usage: tip ${command.name}${command.args ? ` ${command.args}` : ''} [options]`, '', `${command.summary}.`, '', 'Options:', ...flags.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`), ''].join('\n');
}

/**
 * Runs a subcommand contributed by a plugin (`tip blacklist export …`): loads the config and
 * registers its plugins (no database yet), finds the command by its words, parses its options
 * (`--help` is answered without starting anything), then starts the app in the command's `mode`
 * (`read` by default: no migrations; `run`: jobs may run) without scheduling or services, runs it,
 * and stops the app.
 * @internal
 */
export async function runPluginCommand(argv: readonly string[], io: CliIO, builtIns: readonly string[]): Promise<number> {
  const loose = parseArgs({ args: [...argv], options: toParseArgs(COMMON_OPTIONS), allowPositionals: true, strict: false });
  const ctx: CommandContext = { io, values: loose.values as CommandContext['values'], positionals: [], verbose: Boolean(loose.values.verbose) };
  let opened: OpenedApp;
  try {
    opened = await openApp(ctx, { logTo: 'stderr', defaultLevel: 'warn' });
  } catch (err) {
    // Without a readable config there are no plugin commands: the word is simply unknown.
    if (isTipError(err, TipErrorCodes.CONFIG_UNREADABLE)) {
      throw new UsageError(`unknown command "${argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')}"`, `commands: ${builtIns.join(', ')}; plugin commands come from the config's plugins (${err.message})`);
    }
    throw err;
  }
  await opened.app.load();
  const commands = opened.app.extensionPoint(CorePoints.commands);
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = commands.get(`${words[0]} ${words[1]}`) ?? commands.get(words[0] ?? '');
  if (!command) {
    const known = [...builtIns, ...commands.list().map((c) => c.name)];
    throw new UsageError(`unknown command "${words.slice(0, 2).join(' ')}"`, `commands: ${known.join(', ')} (see "tip --help")`);
  }
  const nameWords = command.name.split(' ');
  const rest = [...argv];
  for (const w of nameWords) rest.splice(rest.indexOf(w), 1);
  let parsed: { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: toParseArgs({ ...(command.options ?? {}), ...COMMON_OPTIONS }), allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!, `see "tip ${command.name} --help"`);
  }
  if (parsed.values.help) {
    io.out(pluginCommandHelp(command));
    return ExitCodes.OK;
  }
  return startedFor(opened, { mode: command.mode ?? 'read' }, () =>
    command.run({ values: parsed.values, positionals: parsed.positionals, out: (t) => io.out(t), err: (t) => io.err(t) }),
  );
}
