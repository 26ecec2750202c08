import {
  startSubscriptionsApp,
  subscribeThroughForm,
  afterRequests,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../../helpers/subscriptions";

describe("topic choices on the subscribe form", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp();
  });
  afterAll(async () => {
    await f?.close();
  });

  const storedTopics = async (email: string) =>
    (await afterRequests(f.app, email))!.topics.map((t) => t.topic.slug).sort();

  it("when a topic is added after people subscribed, then the next reader can choose it at once", async () => {
    const first = uniqueEmail("cache-a");
    expect((await subscribeThroughForm(f.app, { email: first, topics: ["llm", "rl"] })).answer.res.status).toBe(200);
    expect(await storedTopics(first)).toEqual(["llm", "rl"]);

    await f.app.db.topic.create({
      data: { slug: "graph-learning", name: "Graph learning", query: "graph", position: 9 },
    });
    const second = uniqueEmail("cache-b");
    expect(
      (await subscribeThroughForm(f.app, { email: second, topics: ["graph-learning", "llm"] })).answer.res.status,
    ).toBe(200);
    expect(await storedTopics(second)).toEqual(["graph-learning", "llm"]);
  });

  it("when a slug is unknown, then the form says so and nothing is stored", async () => {
    const email = uniqueEmail("cache-c");
    const { answer } = await subscribeThroughForm(f.app, { email, topics: ["no-such-topic"] });
    expect(answer.res.status).toBe(400);
    expect(answer.text).toContain("Unknown topic: no-such-topic.");
    expect(await f.app.db.subscriber.findUnique({ where: { email } })).toBeNull();
  });
});
