/**
 * Test tiers (see README "Testing"): each is a jest project so that `--selectProjects` picks tiers.
 * ts-jest type-checks every test and the code it imports.
 * @type {import('jest').Config}
 */
const base = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
};

const tier = (name, extra = {}) => ({
  ...base,
  displayName: name,
  testMatch: [`<rootDir>/tests/${name}/**/*.test.ts`],
  ...extra,
});

module.exports = {
  projects: [
    tier("unit"),
    tier("policy"),
    tier("stacks"),
    tier("conformance"),
    tier("e2e"),
    tier("policy-runtime"),
    tier("twin"),
  ],
};
