import { expect } from "@jest/globals";
import { emailHash } from "../../../src/subscriptions/consent-log";
import { csrfField } from "../../helpers/web-session";
import {
  emailsTo,
  eventually,
  listUnsubscribeUrl,
  linkFromEmail,
  startSubscriptionsApp,
  subscribeAndConfirm,
  afterRequests,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../../helpers/subscriptions";

describe("the preferences page", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp();
  });
  afterAll(async () => {
    await f?.close();
  });

  const slugsOf = async (subscriberId: string) =>
    (await f.app.db.subscriberTopic.findMany({ where: { subscriberId }, include: { topic: true } }))
      .map((t) => t.topic.slug)
      .sort();
  const actions = async (email: string) =>
    (await f.app.db.consentEvent.findMany({ where: { emailHash: emailHash(email) }, orderBy: { id: "asc" } })).map(
      (e) => `${e.action}/${e.source}`,
    );

  it("when a reader changes topics and frequency, then they are stored, logged, and the page shows them", async () => {
    const email = uniqueEmail();
    const s = await subscribeAndConfirm(f, email, ["llm", "vision"]);
    const saved = await s.web.post(s.preferencesPath, {
      _csrf: s.csrf,
      action: "save",
      topics: ["vision", "rl"],
      frequency: "weekly",
    });
    expect(saved.res.status).toBe(303);
    expect(saved.res.headers.get("location")).toBe(`${s.preferencesPath}?done=saved`);
    expect(await slugsOf(s.subscriber.id)).toEqual(["rl", "vision"]);
    expect(await f.app.db.subscriber.findUniqueOrThrow({ where: { id: s.subscriber.id } })).toMatchObject({
      frequency: "weekly",
      status: "active",
    });

    const page = await s.web.get(`${s.preferencesPath}?done=saved`);
    expect(page.html).toContain("Your preferences are saved.");
    expect(page.html).toMatch(/value="rl" id="prefs-topic-rl" checked/);
    expect(page.html).not.toMatch(/value="llm" id="prefs-topic-llm" checked/);
    expect(page.html).toMatch(/id="prefs-weekly" checked/);

    // Saving the same choice again changes and logs nothing.
    const again = await s.web.post(s.preferencesPath, {
      _csrf: csrfField(page.html),
      action: "save",
      topics: ["rl", "vision"],
      frequency: "weekly",
    });
    expect(again.res.headers.get("location")).toContain("done=unchanged");
    expect(await actions(email)).toEqual(["subscribe/web_form", "confirm/link", "change/link"]);
  });

  it("when an unknown topic is posted, then the answer is 400 and nothing is lost", async () => {
    const s = await subscribeAndConfirm(f, uniqueEmail(), ["llm"]);
    const res = await s.web.post(s.preferencesPath, {
      _csrf: s.csrf,
      action: "save",
      topics: ["llm", "astrology"],
      frequency: "daily",
    });
    expect(res.res.status).toBe(400);
    expect(res.text).toContain("Unknown topic: astrology.");
    expect(await slugsOf(s.subscriber.id)).toEqual(["llm"]);
  });

  it("when the form is posted without the CSRF token, then it is refused with 403 and nothing changes", async () => {
    const s = await subscribeAndConfirm(f, uniqueEmail(), ["llm"]);
    const noToken = await s.web.post(s.preferencesPath, { action: "save", topics: ["rl"], frequency: "weekly" });
    expect(noToken.res.status).toBe(403);
    expect(noToken.text).toContain("This form has expired");
    const noCookie = await fetch(`${f.app.url}${s.preferencesPath}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: s.csrf, action: "pause" }),
    });
    expect(noCookie.status).toBe(403);
    expect(await slugsOf(s.subscriber.id)).toEqual(["llm"]);
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { id: s.subscriber.id } })).status).toBe("active");
  });

  it("when a reader asks for nothing and later comes back, then the status follows and both are logged", async () => {
    const email = uniqueEmail();
    const s = await subscribeAndConfirm(f, email, ["llm"]);
    const paused = await s.web.post(s.preferencesPath, { _csrf: s.csrf, action: "pause" });
    expect(paused.res.headers.get("location")).toContain("done=paused");
    expect(await f.app.db.subscriber.findUniqueOrThrow({ where: { id: s.subscriber.id } })).toMatchObject({
      status: "unsubscribed",
      unsubscribedAt: expect.any(Date),
    });
    const page = await s.web.get(`${s.preferencesPath}?done=paused`);
    expect(page.html).toContain("we send you nothing");
    expect(page.html).toContain('value="resubscribe"');

    await s.web.post(s.preferencesPath, { _csrf: csrfField(page.html), action: "resubscribe" });
    expect(await f.app.db.subscriber.findUniqueOrThrow({ where: { id: s.subscriber.id } })).toMatchObject({
      status: "active",
      unsubscribedAt: null,
    });
    expect(await slugsOf(s.subscriber.id)).toEqual(["llm"]);
    expect(await actions(email)).toEqual([
      "subscribe/web_form",
      "confirm/link",
      "unsubscribe/link",
      "resubscribe/link",
    ]);
  });

  it("when a reader downloads their data, then the JSON holds everything stored about them, and only that", async () => {
    const email = uniqueEmail();
    const s = await subscribeAndConfirm(f, email, ["vision"]);
    const digest = await f.app.db.digest.create({ data: { day: new Date("2026-11-02"), frequency: "daily" } });
    await f.app.db.delivery.create({
      data: { digestId: digest.id, subscriberId: s.subscriber.id, state: "accepted", sentAt: new Date() },
    });
    const res = await s.web.post(`${s.preferencesPath}/export`, { _csrf: s.csrf });
    expect(res.res.status).toBe(200);
    expect(res.res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.res.headers.get("content-disposition")).toMatch(/^attachment; filename="?daily-papers-my-data\.json"?$/);
    expect(res.res.headers.get("cache-control")).toBe("no-store");
    const data = JSON.parse(res.text) as {
      subscriber: unknown;
      consentLog: { action: string }[];
      deliveries: unknown[];
    };
    expect(data.subscriber).toMatchObject({
      id: s.subscriber.id,
      email,
      status: "active",
      frequency: "daily",
      topics: [{ slug: "vision", name: "Computer vision" }],
    });
    expect(data.consentLog.map((e) => e.action)).toEqual(["subscribe", "confirm"]);
    // Whoever typed the address into the form may not be the person: no IP or user agent here.
    expect(data.consentLog[0]).toEqual({
      at: expect.any(String),
      action: "subscribe",
      source: "web_form",
      detail: expect.anything(),
    });
    expect(res.text).not.toMatch(/"ip"|userAgent|emailHash|tokenVersion/);
    expect(data.deliveries).toEqual([expect.objectContaining({ digestDay: "2026-11-02", state: "accepted" })]);
  });

  it("when a reader deletes themselves, then the row is gone, links die, the log keeps only a keyed hash, and subscribing again needs a new opt-in", async () => {
    const email = uniqueEmail();
    const s = await subscribeAndConfirm(f, email, ["llm"]);
    const unsubscribeUrl = listUnsubscribeUrl(emailsTo(f.smtp, email)[0]!.raw);
    const asked = await s.web.post(`${s.preferencesPath}/delete`, { _csrf: s.csrf });
    expect(asked.res.status).toBe(200);
    expect(asked.text).toContain("Delete everything about you?");
    expect(asked.text).toContain('name="confirm" value="yes"');
    expect(await f.app.db.subscriber.findUnique({ where: { email } })).not.toBeNull();

    const res = await s.web.post(`${s.preferencesPath}/delete`, { _csrf: csrfField(asked.text), confirm: "yes" });
    expect(res.res.status).toBe(200);
    expect(res.text).toContain("Your data is deleted");

    expect(await f.app.db.subscriber.findUnique({ where: { email } })).toBeNull();
    expect(await f.app.db.subscriberTopic.count({ where: { subscriberId: s.subscriber.id } })).toBe(0);
    // No plain SHA-256 of the address is left (reversible by hashing guesses); the keyed one links the log.
    expect(await f.app.db.consentEvent.count({ where: { emailHash: emailHash(email) } })).toBe(0);
    const log = await f.app.db.consentEvent.findMany({
      where: { emailHash: f.app.deps.suppressions.keyOf(email) },
      orderBy: { id: "asc" },
    });
    expect(log.map((e) => [e.action, e.subscriberId, e.ip, e.userAgent])).toEqual([
      ["subscribe", null, null, null],
      ["confirm", null, null, null],
      ["delete", null, null, null],
    ]);
    expect(JSON.stringify(log, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(email);
    for (const path of [s.preferencesPath, unsubscribeUrl])
      expect((await fetch(new URL(path, f.app.url))).status).toBe(404);

    // A later subscribe starts from nothing: pending, a new id, a new confirmation.
    const before = emailsTo(f.smtp, email).length;
    await fetch(`${f.app.url}/subscribe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    const again = (await afterRequests(f.app, email))!;
    expect(again.id).not.toBe(s.subscriber.id);
    expect(again.status).toBe("pending");
    await eventually(() => emailsTo(f.smtp, email).length === before + 1, 10_000, "new confirmation");
    expect(await linkFromEmail(f.smtp, email, "/confirm/")).toBeTruthy();
    // The new subscription's export holds nothing of the erased one.
    const fresh = f.app.deps.tokens.sign("manage", again.id, again.tokenVersion);
    const page = await s.web.get(`/preferences/${fresh}`);
    const exported = JSON.parse(
      (await s.web.post(`/preferences/${fresh}/export`, { _csrf: csrfField(page.html) })).text,
    ) as { consentLog: { action: string }[] };
    expect(exported.consentLog.map((e) => e.action)).toEqual(["subscribe"]);
  });
});
