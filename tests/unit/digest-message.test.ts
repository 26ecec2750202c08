import { simpleParser } from "mailparser";
import { renderDigest, type DigestView } from "../../src/digests/render";
import { compileVariant, personalise, Placeholder } from "../../src/mail/personal-message";

const view: DigestView = {
  heading: "Tuesday 10 December 2024",
  webUrl: "http://localhost:3000/digests/2024-12-10",
  papers: [
    {
      title: "Score <b>estimation</b> & diffusion",
      url: "https://arxiv.org/abs/2401.00001",
      abstract: "A".repeat(2000),
      authorCount: 3,
      arxivDate: "2024-01-28",
      upvotes: 42,
      topics: ["Diffusion"],
    },
    {
      title: "Ünïcödé %%UNSUBSCRIBE_URL%% title",
      url: "https://arxiv.org/abs/2401.00002",
      abstract: "short <script>alert(1)</script>",
      authorCount: 1,
      upvotes: 7,
      topics: [],
    },
  ],
};

describe("a digest variant rendered once and personalised per reader", () => {
  it("when rendered, then paper text is escaped, cut, and no source text can smuggle a placeholder", async () => {
    const content = await renderDigest(view);
    expect(content.html).toContain("Score &lt;b&gt;estimation&lt;/b&gt; &amp; diffusion");
    expect(content.html).not.toContain("<script>alert(1)</script>");
    expect(content.html).not.toContain("A".repeat(700));
    expect(content.html.split(Placeholder.unsubscribeUrl)).toHaveLength(2);
    expect(content.text.split(Placeholder.unsubscribeUrl)).toHaveLength(2);
    expect(content.subject).toBe(
      "Daily Papers · Tuesday 10 December 2024: Score <b>estimation</b> & diffusion and 1 more",
    );
  });

  it("when personalised, then the message parses with both parts, the reader's own links and the list headers", async () => {
    const compiled = compileVariant(await renderDigest(view), "Daily Papers <papers@example.org>");
    const unsubscribeUrl = `http://localhost:3000/unsubscribe/${"t".repeat(150)}`;
    const raw = personalise(compiled, {
      to: "reader@example.org",
      messageId: "delivery-1@example.org",
      date: new Date("2024-12-10T08:00:00Z"),
      unsubscribeUrl,
      preferencesUrl: "http://localhost:3000/preferences/abc",
      headers: { "List-Unsubscribe": `<${unsubscribeUrl}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
    });
    for (const line of raw.split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
    const body = raw.slice(raw.indexOf("\r\n\r\n"));
    expect(body.split("\r\n").filter((l) => l.length > 76 && !l.startsWith("--"))).toEqual([]);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(
      "Daily Papers · Tuesday 10 December 2024: Score <b>estimation</b> & diffusion and 1 more",
    );
    expect(parsed.from?.value[0]).toMatchObject({ name: "Daily Papers", address: "papers@example.org" });
    expect(parsed.messageId).toBe("<delivery-1@example.org>");
    expect(parsed.text).toContain(`Unsubscribe: ${unsubscribeUrl}`);
    expect(parsed.text).toContain("reader@example.org subscribed");
    expect(parsed.text).toContain("Ünïcödé % UNSUBSCRIBE_URL% title".replace("% UNSUB", "%UNSUB"));
    expect(parsed.html).toContain(`href="${unsubscribeUrl}"`);
    expect(parsed.html).toContain('href="http://localhost:3000/preferences/abc"');
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
  });

  it("when a recipient address carries a line break, then no message is built", async () => {
    const compiled = compileVariant(await renderDigest(view), "papers@example.org");
    expect(() =>
      personalise(compiled, {
        to: "a@example.org\r\nBcc: x@evil.example",
        messageId: "m@x",
        date: new Date(),
        unsubscribeUrl: "u",
        preferencesUrl: "p",
        headers: {},
      }),
    ).toThrow(/forbidden/);
  });
});
