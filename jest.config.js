// One jest config, three projects told apart by file suffix.
const transform = {
  '^.+\\.ts$': ['@swc/jest'],
  // ESM-only dependencies (ccxt's @noble/*, @scure/*; puppeteer 25): Node 20 can require() them, Jest's module
  // runtime cannot before Node 24.9, so they are compiled to CommonJS like our own files.
  '^.+/node_modules/(@noble|@scure|puppeteer|puppeteer-core|@puppeteer)/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }],
};
const common = {
  transform,
  transformIgnorePatterns: ['/node_modules/(?!(@noble|@scure|puppeteer|puppeteer-core|@puppeteer)/)'],
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
  roots: ['<rootDir>/router', '<rootDir>/subgraphs', '<rootDir>/scripts'],
};

module.exports = {
  // Every test file leaves some memory behind in the process that ran it (module registries, native
  // handles of closed servers); in one in-band process that reached 4 GB and GC-bound sagas ran 10x
  // slower. A worker over the limit after a file is replaced (this also keeps one-core runs out of band).
  workerIdleMemoryLimit: '1GB',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.unit.test.ts'] },
    { ...common, displayName: 'int', testMatch: ['**/*.int.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['**/*.e2e.test.ts'], testTimeout: 60_000, setupFilesAfterEnv: ['<rootDir>/router/test/e2e/setup.ts'] },
  ],
};
