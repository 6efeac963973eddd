/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 120000,
  maxWorkers: 2,
  // A fresh worker process for every test file: native state (onnxruntime, Dawn, the addons) and
  // the ESM loader's dynamic imports never cross from one file's torn-down environment to the next.
  workerIdleMemoryLimit: '1MB',
};
