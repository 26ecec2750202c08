import { expect } from "@jest/globals";
import { emailHash } from "../../../src/subscriptions/consent-log";
import { enqueueConfirmation } from "../../../src/subscriptions/confirmation-job";
import { importSubscriber } from "../../../src/subscriptions/import";
import { WebSession, csrfField, linkIn } from "../../helpers/web-session";
import {
  emailsTo,
  eventually,
  linkFromEmail,
  listUnsubscribeUrl,
  startSubscriptionsApp,
  subscribeAndConfirm,
  confirmThroughLink,
  subscribeThroughForm,
  afterRequests,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../../helpers/subscriptions";

describe("double opt-in", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp();
  });
  afterAll(async () => {
    await f?.close();
  });

  const consent = (email: string) =>
    f.app.db.consentEvent.findMany({
      where: { emailHash: emailHash(email) },
      orderBy: { id: "asc" },
      select: { action: true, source: true, subscriberId: true },
    });
  const postJson = (body: unknown) =>
    fetch(`${f.app.url}/subscribe`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });

  it("when a reader subscribes through the form, then a pending subscriber is stored, the confirmation email arrives and its link confirms", async () => {
    const email = uniqueEmail();
    const { answer } = await subscribeThroughForm(f.app, {
      email: `  ${email.replace("example.org", "EXAMPLE.org")} `,
      topics: ["llm", "vision"],
      frequency: "weekly",
    });
    expect(answer.res.status).toBe(200);
    expect(answer.text).toContain("Check your inbox");

    // The answer stores the request; its job creates the subscriber a moment later.
    const pending = (await afterRequests(f.app, email))!;
    expect(pending).toMatchObject({ status: "pending", frequency: "weekly", confirmedAt: null });
    expect(pending.topics.map((t) => t.topic.slug).sort()).toEqual(["llm", "vision"]);

    const confirmUrl = await linkFromEmail(f.smtp, email, "/confirm/");
    const [message] = emailsTo(f.smtp, email);
    expect(message!.parsed.subject).toBe("Confirm your Daily Papers subscription");
    expect(message!.parsed.html).toContain(confirmUrl);
    // The headers mail providers use for their own unsubscribe button (RFC 2369 / 8058).
    expect(listUnsubscribeUrl(message!.raw)).toMatch(new RegExp(`^${f.app.url}/unsubscribe/[\\w-]+\\.[\\w-]+$`));
    expect(message!.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    expect(message!.raw).toMatch(/^List-ID: Daily Papers <daily-papers\.localhost>$/im);
    // Tokens never carry the address or the bare id.
    expect(confirmUrl).not.toContain(email);
    expect(confirmUrl.split("/confirm/")[1]).not.toBe(pending.id);
    await eventually(
      async () => (await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).confirmationSentAt !== null,
      5_000,
      "confirmationSentAt recorded",
    );

    // Opening the link (what a mail filter's link scanner does) shows a button and changes nothing.
    const web = new WebSession(f.app.url!);
    const shown = await web.get(confirmUrl);
    expect(shown.res.status).toBe(200);
    expect(shown.html).toContain("Yes, subscribe me");
    expect(shown.res.headers.get("cache-control")).toBe("no-store");
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).status).toBe("pending");
    // A POST without the page's token (a scanner replaying the form) changes nothing either.
    expect((await fetch(confirmUrl, { method: "POST" })).status).toBe(403);
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).status).toBe("pending");

    const pressed = await web.post(confirmUrl, { _csrf: csrfField(shown.html) });
    const page = pressed.res;
    expect(page.status).toBe(200);
    const html = pressed.text;
    expect(html).toContain("You&#39;re subscribed");
    expect(html).toMatch(/<input type="checkbox" name="topics" value="llm" id="prefs-topic-llm" checked>/);
    expect(page.headers.get("cache-control")).toBe("no-store");

    const active = await f.app.db.subscriber.findUniqueOrThrow({ where: { email } });
    expect(active).toMatchObject({ status: "active", confirmedAt: expect.any(Date) });
    expect(await consent(email)).toEqual([
      { action: "subscribe", source: "web_form", subscriberId: active.id },
      { action: "confirm", source: "link", subscriberId: active.id },
    ]);

    // Clicking the link again is harmless.
    expect((await confirmThroughLink(web, confirmUrl)).res.status).toBe(200);
    expect(await consent(email)).toHaveLength(2);
    const metrics = await f.app.deps.metrics.registry.getSingleMetricAsString("newsletter_confirmations_total");
    expect(metrics).toMatch(/newsletter_confirmations_total [1-9]/);
  });

  it("when the same address subscribes in every state, then the answer is byte for byte the same", async () => {
    const fresh = uniqueEmail("fresh");
    const pending = uniqueEmail("pending");
    const { subscriber: active } = await subscribeAndConfirm(f, uniqueEmail("active"));
    await postJson({ email: pending });
    const left = await subscribeAndConfirm(f, uniqueEmail("left"));
    await f.app.db.subscriber.update({ where: { id: left.subscriber.id }, data: { status: "unsubscribed" } });

    const answers = [];
    for (const email of [fresh, pending, active.email, left.subscriber.email]) {
      const res = await postJson({ email });
      answers.push({ status: res.status, body: await res.text() });
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]!.status).toBe(200);
    expect(JSON.parse(answers[0]!.body)).toEqual({
      status: "ok",
      message: expect.stringContaining("Check your inbox"),
    });
    // What did change behind the same answer: the active subscriber is untouched.
    expect(await f.app.db.subscriber.findUniqueOrThrow({ where: { id: active.id } })).toMatchObject({
      status: "active",
      tokenVersion: active.tokenVersion,
    });
  });

  it("when an active reader subscribes again, then they get one email with their preferences link and nothing else changes", async () => {
    const email = uniqueEmail("active-again");
    const { subscriber, preferencesPath } = await subscribeAndConfirm(f, email, ["llm"]);
    const before = emailsTo(f.smtp, email).length;
    expect((await postJson({ email, topics: ["rl"], frequency: "weekly" })).status).toBe(200);
    expect((await postJson({ email, topics: ["vision"] })).status).toBe(200);
    await eventually(() => emailsTo(f.smtp, email).length === before + 1, 10_000, "reminder");
    const reminder = emailsTo(f.smtp, email)[before]!;
    expect(reminder.parsed.subject).toBe("You are already subscribed to Daily Papers");
    const link = linkIn(reminder.parsed.text ?? "", "/preferences/");
    // A working preferences link of this subscriber (tokens carry their issue time, so not the same string).
    const opened = await fetch(link);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain(email);
    expect(preferencesPath).toMatch(/^\/preferences\//);
    expect(reminder.parsed.text).not.toContain("/confirm/");
    await new Promise((r) => setTimeout(r, 500));
    expect(emailsTo(f.smtp, email)).toHaveLength(before + 1);
    const after = await f.app.db.subscriber.findUniqueOrThrow({
      where: { id: subscriber.id },
      include: { topics: { include: { topic: true } } },
    });
    expect(after).toMatchObject({ status: "active", frequency: "daily", tokenVersion: subscriber.tokenVersion });
    expect(after.topics.map((t) => t.topic.slug)).toEqual(["llm"]);
  });

  it("when a suppressed address is subscribed, then the answer is as usual and nothing is sent", async () => {
    const email = uniqueEmail("suppressed");
    await f.app.deps.suppressions.suppress(f.app.db, { email, reason: "complaint", source: "test" });
    const res = await postJson({ email });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", message: expect.stringContaining("Check your inbox") });
    await eventually(
      async () => (await f.app.db.subscriptionRequest.count({ where: { processedAt: null } })) === 0,
      10_000,
      "request applied",
    );
    const left = await subscribeAndConfirm(f, uniqueEmail("left-suppressed"));
    await f.app.db.subscriber.update({ where: { id: left.subscriber.id }, data: { status: "bounced" } });
    await f.app.deps.suppressions.suppress(f.app.db, {
      email: left.subscriber.email,
      reason: "hard_bounce",
      source: "test",
    });
    await postJson({ email: left.subscriber.email });
    await eventually(
      async () => (await f.app.db.subscriptionRequest.count({ where: { processedAt: null } })) === 0,
      10_000,
      "request applied",
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(emailsTo(f.smtp, email)).toHaveLength(0);
    expect(emailsTo(f.smtp, left.subscriber.email)).toHaveLength(1);
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { id: left.subscriber.id } })).status).toBe("bounced");
  });

  it("when a pending reader subscribes again, then the confirmation is re-sent at most once per few minutes", async () => {
    const email = uniqueEmail("again");
    await postJson({ email, topics: ["llm"] });
    await linkFromEmail(f.smtp, email, "/confirm/");
    await eventually(
      async () => (await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).confirmationSentAt !== null,
    );

    // Within the cooldown: the new topic choice is kept, no second email.
    expect((await postJson({ email, topics: ["rl"] })).status).toBe(200);
    expect((await postJson({ email, topics: ["rl"] })).status).toBe(200);
    await eventually(
      async () => (await f.app.db.subscriptionRequest.count({ where: { processedAt: null } })) === 0,
      10_000,
      "requests applied",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(emailsTo(f.smtp, email)).toHaveLength(1);
    const topics = await f.app.db.subscriberTopic.findMany({
      where: { subscriber: { email } },
      include: { topic: true },
    });
    expect(topics.map((t) => t.topic.slug)).toEqual(["rl"]);

    // Once the cooldown has passed, the next request sends a fresh confirmation.
    await f.app.db.subscriber.update({
      where: { email },
      data: { confirmationSentAt: new Date(Date.now() - 6 * 60_000) },
    });
    await postJson({ email });
    await eventually(() => emailsTo(f.smtp, email).length === 2, 10_000, "second confirmation");
    // Both links confirm the same subscription (same token version).
    const links = emailsTo(f.smtp, email).map((m) => m.parsed.text!.match(/http\S+\/confirm\/\S+/)![0]);
    expect((await fetch(links[0]!)).status).toBe(200);
  });

  it("when an import queues confirmation jobs twice for one person, then one email is sent", async () => {
    const email = uniqueEmail("import");
    const { created, subscriber } = await importSubscriber(f.app.db, {
      email,
      topicSlugs: ["rl"],
      frequency: "daily",
      optedIn: false,
    });
    expect(created).toBe(true);
    expect(subscriber.status).toBe("pending");
    // A pending import is a request to subscribe, as the CSV import records it (README, "Importing").
    expect((await consent(email)).map((e) => `${e.action}/${e.source}`)).toEqual(["subscribe/cli"]);
    expect(
      (await importSubscriber(f.app.db, { email, topicSlugs: [], frequency: "weekly", optedIn: true })).created,
    ).toBe(false);
    await enqueueConfirmation(f.app.queues.emails, { subscriberId: subscriber.id }, subscriber);
    await f.app.queues.emails.add("confirmation", { subscriberId: subscriber.id }, { jobId: `other-${subscriber.id}` });
    await linkFromEmail(f.smtp, email, "/confirm/");
    await eventually(
      async () => (await f.app.queues.emails.getJobCounts("active", "waiting", "delayed")).waiting === 0,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(emailsTo(f.smtp, email)).toHaveLength(1);
  });

  it("when an unsubscribed reader subscribes again, then it is a new opt-in and older links stop working", async () => {
    const email = uniqueEmail("comeback");
    const { subscriber } = await subscribeAndConfirm(f, email, ["llm"]);
    const firstEmail = emailsTo(f.smtp, email)[0]!;
    const oldUnsubscribe = { url: listUnsubscribeUrl(firstEmail.raw) };
    expect(
      (
        await fetch(oldUnsubscribe.url, {
          method: "POST",
          body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }),
        })
      ).status,
    ).toBe(200);

    await postJson({ email, topics: ["vision"] });
    // The request only stored the request; the job reopens the subscription.
    await eventually(
      async () => (await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).status === "pending",
      10_000,
      "reopened",
    );
    const reopened = await f.app.db.subscriber.findUniqueOrThrow({ where: { email } });
    expect(reopened).toMatchObject({ id: subscriber.id, status: "pending", tokenVersion: subscriber.tokenVersion + 1 });
    await eventually(() => emailsTo(f.smtp, email).length === 2, 10_000, "new confirmation");
    expect((await fetch(oldUnsubscribe.url)).status).toBe(404);

    const newConfirm = emailsTo(f.smtp, email)[1]!.parsed.text!.match(/http\S+\/confirm\/\S+/)![0];
    expect((await confirmThroughLink(new WebSession(f.app.url!), newConfirm)).res.status).toBe(200);
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).status).toBe("active");
    expect((await consent(email)).map((e) => `${e.action}/${e.source}`)).toEqual([
      "subscribe/web_form",
      "confirm/link",
      "unsubscribe/one_click",
      "resubscribe/web_form",
      "confirm/link",
    ]);
  });

  it("when the SMTP server refuses the address for good, then the subscriber is marked bounced and not retried", async () => {
    const email = uniqueEmail("nobody");
    f.smtp.setPolicy((address) => (address === email ? { code: 550, message: "5.1.1 no such user" } : undefined));
    try {
      await postJson({ email });
      await eventually(
        async () => (await f.app.db.subscriber.findUnique({ where: { email } }))?.status === "bounced",
        10_000,
        "bounced",
      );
      expect((await consent(email)).map((e) => e.action)).toEqual(["subscribe", "bounce"]);
      expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { email } })).confirmationSentAt).toBeNull();
    } finally {
      f.smtp.setPolicy(undefined);
    }
  });
});

describe("confirmation links", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp({ CONFIRM_TOKEN_TTL_HOURS: "1" });
  });
  afterAll(async () => {
    await f?.close();
  });

  it("when a confirm link is older than CONFIRM_TOKEN_TTL_HOURS, then it answers 410 with a way forward and confirms nothing", async () => {
    const subscriber = await f.app.db.subscriber.create({ data: { email: uniqueEmail("late") } });
    const token = f.app.deps.tokens.sign("confirm", subscriber.id, subscriber.tokenVersion, Date.now() - 61 * 60_000);
    const res = await fetch(`${f.app.url}/confirm/${token}`);
    expect(res.status).toBe(410);
    expect(await res.text()).toContain("This confirmation link has expired.");
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { id: subscriber.id } })).status).toBe("pending");
  });

  it("when a token is tampered with, used for another purpose, or names nobody, then the answer is a clear 4xx page, never a 500", async () => {
    const subscriber = await f.app.db.subscriber.create({ data: { email: uniqueEmail("tamper") } });
    const confirm = f.app.deps.tokens.sign("confirm", subscriber.id, 0);
    const unsubscribe = f.app.deps.tokens.sign("unsubscribe", subscriber.id, 0);
    const [payload, signature] = confirm.split(".");
    const otherId = Buffer.from(
      `00000000-0000-4000-8000-000000000000.0.${Math.floor(Date.now() / 1000).toString(36)}`,
    ).toString("base64url");
    const cases: [string, number, string][] = [
      [`/confirm/${payload}.${signature!.slice(0, -3)}abc`, 400, "broken"],
      [`/confirm/${otherId}.${signature}`, 400, "broken"],
      [`/confirm/not-a-token`, 400, "broken"],
      [`/confirm/${"x".repeat(300)}.y`, 400, "broken"],
      [`/confirm/${unsubscribe}`, 400, "broken"],
      [`/unsubscribe/${confirm}`, 400, "broken"],
      [`/preferences/${unsubscribe}`, 400, "broken"],
      [
        `/confirm/${f.app.deps.tokens.sign("confirm", "00000000-0000-4000-8000-000000000000", 0)}`,
        404,
        "no longer valid",
      ],
      [`/confirm/${f.app.deps.tokens.sign("confirm", subscriber.id, 7)}`, 404, "no longer valid"],
    ];
    for (const [path, status, words] of cases) {
      const res = await fetch(`${f.app.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(await res.text()).toContain(words);
    }
    const post = await fetch(`${f.app.url}/unsubscribe/${confirm}`, {
      method: "POST",
      body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }),
    });
    expect(post.status).toBe(400);
    expect((await f.app.db.subscriber.findUniqueOrThrow({ where: { id: subscriber.id } })).status).toBe("pending");
  });
});
