/**
 * `@tip/cli`: the `tip` command-line tool (run, status, jobs, trigger, migrate), its plugin loader
 * and the stopgap status web server.
 *
 * @packageDocumentation
 */
export { main, mainHelp, commandHelp, COMMANDS, CLI_VERSION } from './cli.js';
export { COMMON_OPTIONS, openApp, withStartedApp, withLoadedApp, type Command, type CommandContext, type OptionSpec, type OpenedApp, type OneShotStart } from './command.js';
export { ExitCodes, HintedError, UsageError, processIO, reportError, type CliIO } from './errors.js';
export { createCliLogger, prettyLine, isLogLevel, LOG_LEVELS, type CliLoggerOptions, type LogFormat, type LogLevel } from './logging.js';
export { PluginLoadError, isPlugin, loadPluginSpec, loadPlugins, resolvePluginSpec, type PluginSpec } from './plugins.js';
export { resolvePackage, resolveExports, splitSpecifier, IMPORT_CONDITIONS } from './resolve.js';
export { startStatusServer, type StatusServer, type StatusServerOptions } from './statusServer.js';
export { renderStatusPage, escapeHtml, type StatusPageData } from './statusPage.js';
export { formatTrigger, formatTriggers, formatTime, formatWhen, formatCounts, jobInfoJson, table, triggerJson, toJson } from './format.js';
export { parseListen } from './commands/run.js';
export { collectStatus, type JobStatus } from './commands/status.js';
export { jobSummary, type JobSummary } from './commands/jobs.js';
export { describeRun } from './commands/trigger.js';
