/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // Type-checking is `npm run typecheck`; here ts-jest only transpiles, which keeps the suite fast.
  // CommonJS output, so that dynamic import() (the Prisma client loads its query compiler that way)
  // becomes require() and needs no --experimental-vm-modules.
  transform: {
    "^.+\\.ts$": [
      "ts-jest",
      {
        diagnostics: false,
        tsconfig: {
          isolatedModules: true,
          module: "commonjs",
          moduleResolution: "node10",
          allowImportingTsExtensions: true,
          noEmit: true,
          esModuleInterop: true,
          target: "ES2022",
        },
      },
    ],
  },
  globalSetup: "<rootDir>/tests/helpers/global-setup.ts",
  testTimeout: 60_000,
  maxWorkers: 2,
  // A Redis killed on purpose (tests of "Redis goes away") leaves ioredis timers behind in the test
  // process; the app itself exits through process.exit after stop().
  forceExit: true,
};
