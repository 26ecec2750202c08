#!/usr/bin/env node
// `npx newsletter ...`: runs the TypeScript CLI (src/cli) through tsx, with no build step.
const path = require("node:path");
require("tsx/cjs");
const { runCli } = require(path.join(__dirname, "..", "src", "cli", "index.ts"));
runCli(process.argv);
