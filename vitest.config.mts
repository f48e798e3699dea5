import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no service and no root (npm run test:unit); `services` brings up
// PostgreSQL + pgvector and Temporal once (test/globalSetup.ts) for everything that talks to them.
const shared = {
  // The Temporal native bridge is not stable under worker threads: each test file gets a process.
  pool: 'forks' as const,
  poolOptions: { forks: { singleFork: false, maxForks: 2, minForks: 1 } },
  testTimeout: 120_000,
  hookTimeout: 180_000,
  teardownTimeout: 30_000,
};

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'services',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', '**/node_modules/**'],
          globalSetup: ['test/globalSetup.ts'],
        },
      },
    ],
  },
});
