import { Eta } from "eta";
import { fromRoot } from "../paths";

/** Server-rendered pages live in templates/pages (Eta, auto-escaped). */
export type Views = { render(name: string, data: Record<string, unknown>): string };

export function createViews(templatesDir = fromRoot("templates", "pages"), cache = true): Views {
  const eta = new Eta({ views: templatesDir, cache, autoEscape: true, autoTrim: false });
  return { render: (name, data) => eta.render(name, data) };
}
