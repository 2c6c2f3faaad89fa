import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Integration tests start real worker pools and child processes; two cores here.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
