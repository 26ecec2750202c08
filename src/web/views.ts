import path from "node:path";
import { Eta } from "eta";

/** Server-rendered pages live in templates/pages (Eta, auto-escaped). */
export type Views = { render(name: string, data: Record<string, unknown>): string };

export function createViews(
  templatesDir = path.resolve(__dirname, "..", "..", "templates", "pages"),
  cache = true,
): Views {
  const eta = new Eta({ views: templatesDir, cache, autoEscape: true, autoTrim: false });
  return { render: (name, data) => eta.render(name, data) };
}
