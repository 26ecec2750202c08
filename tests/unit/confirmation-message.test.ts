/**
 * The confirmation email is built by the same MIME builder as the digests (src/mail/personal-message.ts):
 * the headers the product promises (List-Unsubscribe, List-Unsubscribe-Post, List-Id, Message-ID,
 * Date), quoted-printable lines within 76 characters, and a message a mail reader parses.
 */
import { simpleParser } from "mailparser";
import { buildMessage } from "../../src/mail/personal-message";
import { listHeaders } from "../../src/mail/list-headers";
import { createConfirmationRenderer } from "../../src/subscriptions/confirmation-email";

describe("the confirmation email built by the shared MIME builder", () => {
  const render = createConfirmationRenderer();
  const confirmUrl = `https://papers.example.org/confirm/${"c".repeat(120)}.sig`;
  const unsubscribeToken = `${"u".repeat(140)}.sig`;

  async function built(to = "reader@example.org") {
    const email = await render({
      email: to,
      confirmUrl,
      topics: ["Language models", "Vision & speech"],
      frequency: "daily",
      ttlHours: 72,
      purgeDays: 7,
    });
    const message = buildMessage({
      from: "Daily Papers <papers@example.org>",
      to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      headers: listHeaders({
        baseUrl: "https://papers.example.org",
        unsubscribeToken,
        mailto: "unsubscribe+abc@example.org",
      }),
    });
    return { email, message, parsed: await simpleParser(message.raw) };
  }

  it("when built, then it parses with both parts, the confirmation link and the list headers", async () => {
    const { email, message, parsed } = await built();
    expect(parsed.subject).toBe("Confirm your Daily Papers subscription");
    expect(parsed.from?.value[0]).toMatchObject({ name: "Daily Papers", address: "papers@example.org" });
    expect(parsed.to).toMatchObject({ value: [{ address: "reader@example.org" }] });
    expect(parsed.messageId).toBe(message.messageId);
    expect(message.messageId).toMatch(/^<[\w-]+@example\.org>$/);
    expect(message.fromAddress).toBe("papers@example.org");
    expect(parsed.date).toBeInstanceOf(Date);
    expect(parsed.text?.trim()).toBe(email.text.trim());
    expect(parsed.html).toBe(email.html);
    expect(parsed.html).toContain(`href="${confirmUrl}"`);
    expect(parsed.headerLines.find((h) => h.key === "list-unsubscribe-post")?.line).toBe(
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    );
    expect(message.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    // Folded header lines unfolded: the https link first, then the mailto:.
    const listUnsubscribe = message.raw
      .match(/^List-Unsubscribe:(.*(?:\r\n[ \t].*)*)/m)![1]!
      .replace(/\r\n[ \t]/g, " ")
      .trim();
    expect(listUnsubscribe).toBe(
      `<https://papers.example.org/unsubscribe/${unsubscribeToken}>, <mailto:unsubscribe+abc@example.org?subject=unsubscribe>`,
    );
    expect(message.raw).toMatch(/^List-Id: Daily Papers <daily-papers\.papers\.example\.org>\r$/m);
  });

  it("when built, then every body line is quoted-printable within 76 characters and no line passes 998", async () => {
    const { message } = await built();
    const lines = message.raw.split("\r\n");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(998);
    const body = message.raw.slice(message.raw.indexOf("\r\n\r\n"));
    expect(body.split("\r\n").filter((l) => l.length > 76 && !l.startsWith("--"))).toEqual([]);
    expect(message.raw.match(/Content-Transfer-Encoding: quoted-printable/g)).toHaveLength(2);
  });

  it("when the text looks like a digest placeholder, then a one-off email sends it as it is", async () => {
    const { message } = await built();
    const raw = buildMessage({
      from: "papers@example.org",
      to: "reader@example.org",
      subject: "Plain",
      text: "Literally %%EMAIL%% and %%UNSUBSCRIBE_URL%%, not filled in.",
    }).raw;
    const parsed = await simpleParser(raw);
    expect(parsed.text?.trim()).toBe("Literally %%EMAIL%% and %%UNSUBSCRIBE_URL%%, not filled in.");
    expect(parsed.html).toBe(false);
    expect(raw).toMatch(/^Content-Type: text\/plain; charset=utf-8\r$/m);
    expect(message.raw).not.toBe(raw);
  });

  it("when the address carries a line break, then no message is built", () => {
    expect(() =>
      buildMessage({ from: "papers@example.org", to: "a@example.org\r\nBcc: x@evil.example", subject: "s", text: "t" }),
    ).toThrow(/forbidden/);
  });
});
