import { createConfirmationRenderer } from "../../src/subscriptions/confirmation-email";

describe("the confirmation email", () => {
  const render = createConfirmationRenderer();
  const data = {
    email: "reader+<b>@example.org",
    confirmUrl: "https://papers.example.org/confirm/abc.def",
    topics: ["Language models", "Vision & speech"],
    frequency: "weekly" as const,
    ttlHours: 72,
    purgeDays: 7,
  };

  it("when rendered, then both parts carry the confirmation link, the topics and the lifetime", async () => {
    const email = await render(data);
    expect(email.subject).toBe("Confirm your Daily Papers subscription");
    expect(email.html).toContain('href="https://papers.example.org/confirm/abc.def"');
    expect(email.text).toContain("https://papers.example.org/confirm/abc.def");
    expect(email.text).toContain("weekly trending AI research papers on Language models, Vision & speech");
    expect(email.html).toContain("72 hours");
    expect(email.html).not.toContain("<mj-");
  });

  it("when the data holds markup, then the HTML part escapes it and the text part keeps it as text", async () => {
    const email = await render(data);
    expect(email.html).toContain("reader+&lt;b&gt;@example.org");
    expect(email.html).not.toContain("<b>@example.org");
    expect(email.text).toContain("reader+<b>@example.org");
  });
});
