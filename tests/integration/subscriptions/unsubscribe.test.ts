import { emailHash } from "../../../src/subscriptions/consent-log";
import { unsubscribe } from "../../../src/subscriptions/unsubscribe";
import { csrfField } from "../../helpers/web-session";
import {
  listUnsubscribeUrl,
  emailsTo,
  startSubscriptionsApp,
  subscribeAndConfirm,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../../helpers/subscriptions";

describe("unsubscribe", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp();
  });
  afterAll(async () => {
    await f?.close();
  });

  const statusOf = async (id: string) => (await f.app.db.subscriber.findUniqueOrThrow({ where: { id } })).status;
  const unsubscribeEvents = (email: string) =>
    f.app.db.consentEvent.findMany({ where: { emailHash: emailHash(email), action: "unsubscribe" } });
  const confirmed = async () => {
    const email = uniqueEmail();
    const s = await subscribeAndConfirm(f, email, ["llm"]);
    return { ...s, email, url: listUnsubscribeUrl(emailsTo(f.smtp, email)[0]!.raw) };
  };

  it("when the link is opened, then the page has one unsubscribe button, opens nothing else, and nothing changes yet", async () => {
    const s = await confirmed();
    const res = await fetch(s.url);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html.match(/<button/g)).toHaveLength(1);
    expect(html).toContain(">Unsubscribe</button>");
    // The List-Unsubscribe URL is held by mail providers and whoever the mail is forwarded to:
    // it leads to no management, export or deletion.
    expect(html).not.toMatch(/\/preferences\//);
    expect(await statusOf(s.subscriber.id)).toBe("active");
    const token = s.url.split("/unsubscribe/")[1]!;
    for (const path of [`/preferences/${token}`, `/preferences/${token}/export`, `/preferences/${token}/delete`]) {
      const got = await fetch(`${f.app.url}${path}`, {
        method: path.endsWith("/export") || path.endsWith("/delete") ? "POST" : "GET",
      });
      expect([400, 403]).toContain(got.status);
    }
    expect(await statusOf(s.subscriber.id)).toBe("active");
  });

  it("when the button is pressed, then the reader is unsubscribed (source: link) and the page offers to undo", async () => {
    const s = await confirmed();
    const res = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "confirm=yes",
      redirect: "manual",
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("You&#39;re unsubscribed");
    expect(await statusOf(s.subscriber.id)).toBe("unsubscribed");
    expect((await unsubscribeEvents(s.email)).map((e) => e.source)).toEqual(["link"]);

    // The offer works: the resubscribe form carries its CSRF token and cookie.
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const action = html.match(/<form method="post" action="([^"]+)"/)![1]!;
    const back = await fetch(`${f.app.url}${action}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ _csrf: csrfField(html) }),
      redirect: "manual",
    });
    expect(action).toMatch(/^\/unsubscribe\/[\w.-]+\/undo$/);
    expect(back.status).toBe(200);
    expect(await back.text()).toContain("subscribed again");
    expect(await statusOf(s.subscriber.id)).toBe("active");
    expect((await unsubscribeEvents(s.email)).map((e) => e.source)).toEqual(["link"]);

    // The undo is for a mistaken click: a day later the link only unsubscribes.
    await f.app.db.subscriber.update({
      where: { id: s.subscriber.id },
      data: { status: "unsubscribed", unsubscribedAt: new Date(Date.now() - 25 * 3600_000) },
    });
    const later = await fetch(s.url);
    expect(await later.text()).not.toContain("/undo");
    const tooLate = await fetch(`${f.app.url}${action}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ _csrf: csrfField(html) }),
    });
    expect(tooLate.status).toBe(409);
    expect(await statusOf(s.subscriber.id)).toBe("unsubscribed");
  });

  it("when a mail provider sends the RFC 8058 one-click POST (form-encoded, no cookies), then it answers 200, never a redirect, and repeating it is harmless", async () => {
    const s = await confirmed();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(s.url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
        redirect: "manual",
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect(await statusOf(s.subscriber.id)).toBe("unsubscribed");
    expect((await unsubscribeEvents(s.email)).map((e) => e.source)).toEqual(["one_click"]);
    const metric = await f.app.deps.metrics.registry.getSingleMetricAsString("newsletter_unsubscribes_total");
    expect(metric).toContain('newsletter_unsubscribes_total{source="one_click"} 1');
  });

  it("when the one-click POST is multipart/form-data, then it unsubscribes too", async () => {
    const s = await confirmed();
    const form = new FormData();
    form.append("List-Unsubscribe", "One-Click");
    const res = await fetch(s.url, { method: "POST", body: form, redirect: "manual" });
    expect(res.status).toBe(200);
    expect(await statusOf(s.subscriber.id)).toBe("unsubscribed");
    expect((await unsubscribeEvents(s.email)).map((e) => e.source)).toEqual(["one_click"]);
  });

  it("when a multipart body is too large or carries a file, then it is refused (413 / 400) and nothing changes", async () => {
    const s = await confirmed();
    const big = new FormData();
    big.append("List-Unsubscribe", "One-Click");
    big.append("padding", "x".repeat(20_000));
    expect((await fetch(s.url, { method: "POST", body: big })).status).toBe(413);
    const withFile = new FormData();
    withFile.append("List-Unsubscribe", "One-Click");
    withFile.append("file", new Blob(["hello"]), "a.txt");
    expect((await fetch(s.url, { method: "POST", body: withFile })).status).toBe(400);
    expect(await statusOf(s.subscriber.id)).toBe("active");
  });

  it("when a pending reader uses the unsubscribe link of the confirmation email, then the request is withdrawn", async () => {
    const email = uniqueEmail("withdraw");
    await fetch(`${f.app.url}/subscribe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    const start = Date.now();
    while (emailsTo(f.smtp, email).length === 0 && Date.now() - start < 10_000)
      await new Promise((r) => setTimeout(r, 25));
    const res = await fetch(listUnsubscribeUrl(emailsTo(f.smtp, email)[0]!.raw), {
      method: "POST",
      body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }),
    });
    expect(res.status).toBe(200);
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).status).toBe("unsubscribed");
  });

  it("when unsubscribe() is called by other features (e.g. the CLI), then it logs their source once", async () => {
    const s = await confirmed();
    expect(await unsubscribe(f.app.db, s.subscriber.id, "cli")).toEqual({ changed: true });
    expect(await unsubscribe(f.app.db, s.subscriber.id, "cli")).toEqual({ changed: false });
    expect(await unsubscribe(f.app.db, "00000000-0000-4000-8000-000000000000", "cli")).toEqual({ changed: false });
    expect((await unsubscribeEvents(s.email)).map((e) => e.source)).toEqual(["cli"]);
  });
});
