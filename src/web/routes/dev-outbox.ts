import { Router } from "express";
import { listOutbox, readOutboxEmail } from "../../mail/outbox";
import { notFound } from "../../errors";
import type { Views } from "../views";

/**
 * Links in the preview frame open in the window itself (as a mail client opens them in a browser),
 * not inside the frame, where the page would show unstyled and its buttons would be sandboxed.
 */
export function opensInTopWindow(html: string): string {
  const base = '<base target="_top">';
  return /<head[^>]*>/i.test(html) ? html.replace(/<head([^>]*)>/i, `<head$1>${base}`) : base + html;
}

/** /dev/outbox: the emails captured while no SMTP server is configured (never in production). */
export function devOutboxRoutes(dir: string, views: Views): Router {
  const router = Router();
  router.get("/dev/outbox", async (_req, res) => {
    res.type("html").send(views.render("outbox-list", { title: "Outbox", emails: await listOutbox(dir) }));
  });
  router.get("/dev/outbox/:file", async (req, res) => {
    const email = await readOutboxEmail(dir, req.params.file);
    if (!email) throw notFound("No such email in the outbox.");
    if (req.query.raw !== undefined) return void res.type("text/plain").send(email.raw);
    const headers = [...email.parsed.headerLines].map((h) => h.line);
    res.type("html").send(
      views.render("outbox-email", {
        title: email.parsed.subject ?? "Email",
        file: email.file,
        headers,
        html: email.parsed.html ? opensInTopWindow(email.parsed.html) : "",
        text: email.parsed.text ?? "",
      }),
    );
  });
  return router;
}
