import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run against TypeScript sources: every workspace package exports them under this condition.
    conditions: ['tip-source'],
  },
  test: {
    setupFiles: ['reflect-metadata'],
    include: ['packages/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
  },
});
