import { expect } from "@jest/globals";
import { csrfField } from "../../helpers/web-session";
import { seedPapers, seedReaders, waitUntil } from "../../helpers/seed";
import {
  startSubscriptionsApp,
  subscribeAndConfirm,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../../helpers/subscriptions";

/**
 * Following one's own keywords and authors: saved from the preferences page (as the form posts,
 * CSRF token included), then a digest assembled and sent through a real SMTP server carries the
 * papers they match, each marked with why it is there; readers with the same follows share a render.
 */
const DAY = "2024-12-10";
const ADMIN_TOKEN = "admin-token-for-tests-0123456789";

describe("following keywords and authors", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp({ ADMIN_TOKEN, DIGEST_MAX_PAPERS: "5" });
  });
  afterAll(async () => {
    await f?.close();
  });

  const followsOf = async (subscriberId: string) =>
    (await f.app.db.subscriberFollow.findMany({ where: { subscriberId }, orderBy: { createdAt: "asc" } })).map(
      (r) => `${r.kind}:${r.value}`,
    );

  it("when the form is refused (too many, too long, odd characters, no CSRF token), then nothing is stored and the page says why", async () => {
    const s = await subscribeAndConfirm(f, uniqueEmail(), ["rl"]);
    const tooMany = await s.web.post(s.preferencesPath, {
      _csrf: s.csrf,
      action: "save",
      topics: ["rl"],
      frequency: "daily",
      keywords: Array.from({ length: 21 }, (_, i) => `subject ${i}`).join("\n"),
      authors: "",
    });
    expect(tooMany.res.status).toBe(400);
    expect(tooMany.text).toContain("You can follow at most 20 keywords and authors together (you gave 21).");
    // What the reader typed is still in the form.
    expect(tooMany.text).toContain("subject 20</textarea>");

    const odd = await s.web.post(s.preferencesPath, {
      _csrf: csrfField(tooMany.text),
      action: "save",
      topics: ["rl"],
      frequency: "daily",
      keywords: "",
      authors: "<b>Ada</b>",
    });
    expect(odd.res.status).toBe(400);
    expect(odd.text).toContain("has characters we cannot match");
    expect(odd.text).not.toContain("<b>Ada</b>");

    const noToken = await s.web.post(s.preferencesPath, { action: "save", keywords: "robots" });
    expect(noToken.res.status).toBe(403);
    expect(await followsOf(s.subscriber.id)).toEqual([]);
  });

  it("when readers follow a phrase and an author, then their digest holds those papers and says why", async () => {
    const topics = new Map((await f.app.db.topic.findMany()).map((t) => [t.slug, t.id]));
    const rl = topics.get("rl")!;
    const [, , , byHopper] = await seedPapers(f.app.db, [
      { title: "A big trending paper nobody here asked for", upvotes: 500, day: DAY, arxivId: "2412.10001" },
      { title: "Policy gradients revisited", upvotes: 60, topics: [rl], day: DAY, arxivId: "2412.10002" },
      {
        title: "Fast Diffusion-Distillation for images",
        upvotes: 12,
        day: DAY,
        arxivId: "2412.10003",
        abstract: "One-step students.",
      },
      { title: "Compilers for everyone", upvotes: 3, day: DAY, arxivId: "2412.10004" },
    ]);
    await f.app.db.paper.update({ where: { id: byHopper! }, data: { authors: ["Grace Hopper", "Ada Lovelace"] } });

    // One reader saves follows through the page, like a browser.
    const email = uniqueEmail("follower");
    const s = await subscribeAndConfirm(f, email, ["rl"]);
    const page = await s.web.get(s.preferencesPath);
    expect(page.html).toContain('name="keywords"');
    const saved = await s.web.post(s.preferencesPath, {
      _csrf: csrfField(page.html),
      action: "save",
      topics: ["rl"],
      frequency: "daily",
      keywords: "  Diffusion   Distillation\n",
      authors: "Hopper, Grace",
    });
    expect(saved.res.status).toBe(303);
    expect(await followsOf(s.subscriber.id)).toEqual(["keyword:diffusion distillation", "author:Grace Hopper"]);
    const shown = await s.web.get(`${s.preferencesPath}?done=saved`);
    expect(shown.html).toContain("diffusion distillation</textarea>");
    expect(shown.html).toContain("Grace Hopper</textarea>");
    const change = await f.app.db.consentEvent.findFirstOrThrow({
      where: { subscriberId: s.subscriber.id, action: "change" },
    });
    expect(change.detail).toMatchObject({ follows: ["keyword:diffusion distillation", "author:Grace Hopper"] });

    // A second reader with the same choice, and one with the topic only.
    const [twin, plain] = await seedReaders(f.app.db, [
      { email: uniqueEmail("twin"), topics: [rl] },
      { email: uniqueEmail("plain"), topics: [rl] },
    ]);
    await f.app.db.subscriberFollow.createMany({
      data: [
        { subscriberId: twin!, kind: "author", value: "Grace Hopper" },
        { subscriberId: twin!, kind: "keyword", value: "diffusion distillation" },
      ],
    });

    const sent = await fetch(`${f.app.url}/admin/api/digests/${DAY}/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    await waitUntil(
      "the digest to be sent",
      async () => (await f.app.db.digest.findUnique({ where: { id } }))?.status === "sent",
    );

    const mail = f.smtp.received.find(
      (e) => e.envelopeTo.includes(email) && /Daily Papers ·/.test(e.parsed.subject ?? ""),
    )!;
    expect(mail).toBeDefined();
    const text = mail.parsed.text ?? "";
    const titles = [...text.matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1]);
    expect(titles).toEqual([
      "Policy gradients revisited",
      "Fast Diffusion-Distillation for images",
      "Compilers for everyone",
    ]);
    expect(text).toContain("Because you follow “diffusion distillation”");
    expect(text).toContain("Because you follow Grace Hopper");
    expect(text).toContain("In Reinforcement learning");
    expect(mail.parsed.html).toContain("Because you follow “diffusion distillation”");
    expect(mail.parsed.html).toContain("In Reinforcement learning");

    const plainMail = f.smtp.received.find((e) => e.envelopeTo.some((to) => to.startsWith("plain-")))!;
    expect([...(plainMail.parsed.text ?? "").matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1])).toEqual([
      "Policy gradients revisited",
    ]);
    expect(plainMail.parsed.text).not.toContain("Because you follow");

    // Same follows and topics, one render: the follower and the twin share a variant.
    const rows = await f.app.db.delivery.findMany({
      where: { digestId: id, subscriberId: { in: [s.subscriber.id, twin!, plain!] } },
      select: { subscriberId: true, variantId: true },
    });
    const variantOf = new Map(rows.map((r) => [r.subscriberId, r.variantId]));
    expect(variantOf.get(twin!)).toBe(variantOf.get(s.subscriber.id));
    expect(variantOf.get(plain!)).not.toBe(variantOf.get(s.subscriber.id));
    expect(await f.app.db.digestVariant.count({ where: { digestId: id } })).toBe(2);
  });
});
