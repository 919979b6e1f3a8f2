// One jest config, three projects told apart by file suffix.
const transform = { '^.+\\.ts$': ['@swc/jest'] };
const common = {
  transform,
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
  roots: ['<rootDir>/router', '<rootDir>/subgraphs', '<rootDir>/scripts'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.unit.test.ts'] },
    { ...common, displayName: 'int', testMatch: ['**/*.int.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['**/*.e2e.test.ts'], testTimeout: 60_000 },
  ],
};
