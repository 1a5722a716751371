import { defineConfig } from 'vitest/config';

// Three projects: fast unit tests, integration tests against real services, and the drill suites
// (`pnpm drill`), which restore a real backup and run the checks in drills/.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          globalSetup: ['test/helpers/global-setup.ts'],
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'drill',
          include: ['drills/**/*.drill.ts'],
          sequence: { groupOrder: 2 },
          globalSetup: ['src/drill/global-setup.ts'],
          pool: 'forks',
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
