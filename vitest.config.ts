import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The e2e tests build network namespaces and measure timing on a small
    // VM: one test file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Deletes stale `mwt*` lab namespaces before and after the run.
    globalSetup: ['test/e2e/global-setup.ts'],
  },
});
