/**
 * An updated checkout must not run stale compiled code: after routes.ts became routes/index.ts, the
 * old dist/src/.../routes.js was still there and Node loaded it instead of the folder (the web
 * role then failed at start with "argument handler must be a function").
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "@jest/globals";

const { pruneDist } = require("../../scripts/prune-dist.js") as { pruneDist: (root: string) => string[] };

const write = (root: string, file: string) => {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), "");
};

describe("pruning dist/ after a build", () => {
  it("when a module's source was deleted or became a folder, then its compiled files go and the rest stay", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "prune-dist-"));
    try {
      for (const f of ["src/a.ts", "src/routes/index.ts", "workers/index.ts"]) write(root, f);
      const kept = ["dist/src/a.js", "dist/src/a.js.map", "dist/src/routes/index.js", "dist/workers/index.js"];
      const stale = ["dist/src/routes.js", "dist/src/routes.js.map", "dist/src/old/gone.js"];
      for (const f of [...kept, ...stale, "dist/.tsbuildinfo"]) write(root, f);

      expect(pruneDist(root).sort()).toEqual(stale.sort());
      for (const f of [...kept, "dist/.tsbuildinfo"]) expect(fs.existsSync(path.join(root, f))).toBe(true);
      expect(fs.existsSync(path.join(root, "dist/src/old"))).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
