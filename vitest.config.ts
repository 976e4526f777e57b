import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the JSON report is what .ci/run counts passed and failed tests from
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest-report.json' },
    testTimeout: 60_000,
  },
});
