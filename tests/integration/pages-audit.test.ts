import { expect } from "@jest/globals";
import crypto from "node:crypto";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedPapers, seedReaders } from "../helpers/seed";

/**
 * Every page a person can reach, walked like a browser (Accept: text/html): each answers HTML with
 * one h1, the favicon, a way home, and words meant for readers; error pages (404, a broken or
 * expired link, a day with nothing) say what happened and link back to the papers.
 */
const DAY = "2024-12-10";
const ADMIN_TOKEN = `admin-${crypto.randomBytes(16).toString("hex")}`;
// What a reader should never read: developer formats, stack traces, library names, empty values.
const DEVELOPER_VOICE =
  /YYYY|undefined|\bnull\b|NaN|\[object |TypeError|Error:|at \S+ \(|Query parameter|zod|prisma|ECONN|must be daily/;

describe("every page, as a reader meets it", () => {
  let app: TestApp;
  const paths: Record<string, string> = {};
  let adminCookie = "";

  beforeAll(async () => {
    app = await startTestApp({ ADMIN_TOKEN });
    await seedPapers(app.db, [{ title: "A paper worth reading", upvotes: 5, day: DAY, arxivId: "2412.30001" }]);
    const [id, goneId] = (await seedReaders(app.db, [
      { email: "audit@example.org" },
      { email: "gone@example.org" },
    ])) as [string, string];
    const tokens = app.deps.tokens;
    paths.confirm = `/confirm/${tokens.sign("confirm", id, 0)}`;
    paths.preferences = `/preferences/${tokens.sign("manage", id, 0)}`;
    paths.unsubscribe = `/unsubscribe/${tokens.sign("unsubscribe", id, 0)}`;
    paths.expired = `/confirm/${tokens.sign("confirm", id, 0, Date.now() - 40 * 86_400_000)}`;
    paths.revoked = `/unsubscribe/${tokens.sign("unsubscribe", goneId, 0)}`;
    await app.db.subscriber.delete({ where: { id: goneId } });
    const login = await fetch(`${app.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN_TOKEN, next: "/admin" }),
      redirect: "manual",
    });
    adminCookie = login.headers.get("set-cookie")!.split(";")[0]!;
  });
  afterAll(async () => {
    await app?.destroy();
  });

  const open = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${app.url}${path}`, { headers: { accept: "text/html", ...headers }, redirect: "manual" });
    return { status: res.status, type: res.headers.get("content-type") ?? "", html: await res.text() };
  };
  const expectReaderPage = (path: string, page: { type: string; html: string }) => {
    const problems: string[] = [];
    if (!/text\/html/.test(page.type)) problems.push(`type ${page.type}`);
    if ((page.html.match(/<h1[\s>]/g) ?? []).length !== 1) problems.push("not exactly one h1");
    if (!page.html.includes('rel="icon" href="/static/favicon.svg"')) problems.push("no favicon");
    if (!/href="\/"/.test(page.html)) problems.push("no link home");
    const words = page.html.replace(/<[^>]+>/g, " ").match(DEVELOPER_VOICE);
    if (words) problems.push(`developer voice: ${words[0]}`);
    expect({ path, problems }).toEqual({ path, problems: [] });
  };

  it.each([
    ["/"],
    ["/subscribe"],
    ["/papers"],
    [`/papers/${DAY}`],
    [`/digests/${DAY}`],
    [`/digests/${DAY}?papers=2412.30001`],
    ["confirm"],
    ["preferences"],
    ["unsubscribe"],
    ["/dev/outbox"],
    ["/admin/login"],
  ])("when %s is opened, then it is a page with one h1, the favicon and a link home", async (route) => {
    const path = route.startsWith("/") ? route : paths[route]!;
    const page = await open(path);
    expect({ path, status: page.status }).toEqual({ path, status: 200 });
    expectReaderPage(path, page);
  });

  it.each([
    ["/no-such-page", 404, "There is nothing at this address."],
    ["/digests/nonsense", 404, "There is no digest at this address."],
    ["/digests/2024-12-11", 404, "No papers were featured on 11 Dec 2024."],
    ["/digests/2024-12-10?papers=2412.99999", 404, "Those papers are not in the digest of 10 Dec 2024."],
    ["/papers/nonsense", 404, "There is no list of papers at this address."],
    ["/confirm/not-a-token", 400, "This link is broken or incomplete."],
    ["expired", 410, "This confirmation link has expired."],
    ["revoked", 404, "This link is no longer valid."],
    ["/dev/outbox/nothing.eml", 404, "No such email in the outbox."],
  ])("when %s is opened, then the error page says what happened (%i) and links home", async (route, status, says) => {
    const path = route.startsWith("/") ? route : paths[route]!;
    const page = await open(path);
    expect({ path, status: page.status }).toEqual({ path, status });
    expectReaderPage(path, page);
    expect(page.html).toContain(says);
    expect(page.html).toContain('<a href="/">Back to the papers</a>');
    expect(page.html).not.toContain("That didn't work</h1>");
  });

  it.each([["/admin"], ["/admin/digests"], ["/admin/feedback"], ["/admin/no-such-page"]])(
    "when an operator opens %s, then it is a page with one h1 and the favicon",
    async (path) => {
      const page = await open(path, { cookie: adminCookie });
      expect([200, 404]).toContain(page.status);
      expectReaderPage(path, page);
    },
  );

  it("when a browser asks for /favicon.ico, then it gets the site's icon", async () => {
    const res = await fetch(`${app.url}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.url).toMatch(/\/static\/favicon\.svg$/);
    expect(res.headers.get("content-type")).toMatch(/image\/svg\+xml/);
  });
});
