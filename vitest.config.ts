import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Integration suites each start their own server processes on random loopback ports;
    // two cores: keep file-level parallelism modest.
    maxWorkers: 2,
  },
});
