/**
 * `@tip/cli`: the `tip` command-line tool (run, status, jobs, trigger, migrate), its plugin loader
 * and the stopgap status web server.
 *
 * @packageDocumentation
 */
export { main, mainHelp, commandHelp, COMMANDS, CLI_VERSION } from './cli.js';
export { COMMON_OPTIONS, isLogLevel, LOG_LEVELS, type Command, type CommandContext, type OptionSpec, type LogFormat, type LogLevel } from './commandSpec.js';
export { openApp, withStartedApp, withLoadedApp, type OpenedApp, type OneShotStart } from './command.js';
export { ExitCodes, HintedError, UsageError, processIO, type CliIO } from './errors.js';
export { reportError } from './report.js';
export { createCliLogger, prettyLine, type CliLoggerOptions } from './logging.js';
export { PluginLoadError, isPlugin, loadPluginSpec, loadPlugins, resolvePluginSpec, type PluginSpec } from './plugins.js';
export { resolvePackage, resolveExports, splitSpecifier, IMPORT_CONDITIONS } from './resolve.js';
export { startStatusServer, type StatusServer, type StatusServerOptions } from './statusServer.js';
/** What `/healthz` answers; defined in `@tip/core`, re-exported where it always was. */
export type { HealthzBody } from '@tip/core';
export { renderStatusPage, escapeHtml, type StatusPageData } from './statusPage.js';
export { formatTrigger, formatTriggers, formatTime, formatWhen, formatCounts, jobInfoJson, table, triggerJson, toJson, describeRun } from './format.js';
export { parseListen, parseRole } from './commands/run.js';
export { collectStatus, type JobStatus, type StatusReport } from './commands/status.js';
export { jobSummary, type JobSummary } from './commands/jobs.js';
