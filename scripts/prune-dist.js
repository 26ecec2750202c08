#!/usr/bin/env node
// Removes compiled files from dist/ whose TypeScript source is gone. tsc only ever adds and
// overwrites, so after a module is deleted or becomes a folder (routes.ts -> routes/index.ts), an
// updated checkout would still load the old dist/.../routes.js: Node resolves `./routes` to the
// file before the folder, and the product would run stale code beside the new.
const fs = require("node:fs");
const path = require("node:path");

/** Prunes `<root>/dist/{src,workers}`; returns the paths removed (relative to root). */
function pruneDist(root) {
  const dist = path.join(root, "dist");
  const removed = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
        continue;
      }
      const compiled = entry.name.match(/^(.*)\.js(\.map)?$/);
      if (!compiled) continue;
      const source = path.join(root, path.relative(dist, dir), `${compiled[1]}.ts`);
      if (fs.existsSync(source)) continue;
      fs.unlinkSync(full);
      removed.push(path.relative(root, full));
    }
  };
  for (const top of ["src", "workers"]) walk(path.join(dist, top));
  return removed;
}

module.exports = { pruneDist };

if (require.main === module) {
  const removed = pruneDist(path.resolve(__dirname, ".."));
  if (removed.length) console.error(`dist/: removed ${removed.length} compiled files whose source is gone`);
}
