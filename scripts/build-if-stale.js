#!/usr/bin/env node
// Runs before `npm start` (and start:web, start:worker): compiles src/ and workers/ into dist/ when
// any source is newer than the last build, so an edit is never run stale, and an unchanged tree
// starts at once (even tsc's incremental check costs seconds).
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const root = path.resolve(__dirname, "..");
const stamp = path.join(root, "dist", ".tsbuildinfo");

function newest(dir) {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full));
    else if (/\.(ts|json)$/.test(entry.name)) latest = Math.max(latest, fs.statSync(full).mtimeMs);
  }
  return latest;
}

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const sources = Math.max(
  newest(path.join(root, "src")),
  newest(path.join(root, "workers")),
  ...["tsconfig.json", "tsconfig.build.json", "package.json"].map((f) => fs.statSync(path.join(root, f)).mtimeMs),
);
if (sources > built) {
  console.error("building dist/ (sources changed since the last build)");
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json", "--noCheck"], {
    cwd: root,
    stdio: "inherit",
  });
  // A module deleted or moved must not keep loading from its old compiled file.
  require("./prune-dist").pruneDist(root);
  // tsc leaves the build info untouched when nothing needed emitting: mark this check done.
  const now = new Date();
  fs.utimesSync(stamp, now, now);
}
