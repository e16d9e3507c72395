import type { Command } from '../commandSpec.js';

/** `tip migrate`: applies pending database migrations of core and every plugin. Listed in `COMMANDS`.
 * @internal
 */
export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations (core and plugins)',
  options: { create: { type: 'boolean', description: 'create the database first when it does not exist (PostgreSQL database, SQLite file)' } },
  description: 'Applies every pending migration in one transaction, then closes the database. A missing database is\nan error unless --create is given.',
  async run(ctx) {
    const { openApp } = await import('../command.js');
    const { app } = await openApp(ctx, { logTo: 'stderr', defaultLevel: 'warn' });
    const applied = await app.migrate({ create: ctx.values.create === true });
    if (applied.length === 0) ctx.io.out('database is up to date\n');
    else for (const name of applied) ctx.io.out(`applied ${name}\n`);
    return 0;
  },
};
