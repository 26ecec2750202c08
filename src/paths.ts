/**
 * Where the project's files are (templates, migrations, bundled data), whether this code runs as
 * TypeScript from src/ (tests, the CLI) or compiled from dist/src/ (the production roles): the
 * nearest folder above this file that holds package.json.
 */
import fs from "node:fs";
import path from "node:path";

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const projectRoot = findRoot(__dirname);

/** A path inside the project, e.g. fromRoot("templates", "emails"). */
export const fromRoot = (...parts: string[]) => path.join(projectRoot, ...parts);
