// ESM throughout: @kubernetes/client-node 2.x ships only ES modules.
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  testEnvironment: 'node',
};

export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/operator', '<rootDir>/image'],
      testMatch: ['<rootDir>/operator/**/*.test.ts', '<rootDir>/image/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      // Only our sources: .cluster/ holds etcd's *.snap files, which jest would take for stale snapshots.
      roots: ['<rootDir>/test', '<rootDir>/operator', '<rootDir>/bench'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup-integration.ts'],
    },
  ],
};
