import type { Command } from '../command.js';
import { openApp } from '../command.js';

/** `tip migrate`: applies pending database migrations of core and every plugin. */
export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations (core and plugins)',
  options: {},
  description: 'Applies every pending migration in one transaction, then closes the database.',
  async run(ctx) {
    const { app } = await openApp(ctx, { logTo: 'stderr', defaultLevel: 'warn' });
    const applied = await app.migrate();
    if (applied.length === 0) ctx.io.out('database is up to date\n');
    else for (const name of applied) ctx.io.out(`applied ${name}\n`);
    return 0;
  },
};
