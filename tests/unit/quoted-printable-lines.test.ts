/**
 * RFC 2045: a quoted-printable line is at most 76 characters. Each reader's message is built by
 * concatenating pre-encoded fragments with the reader's own values, framed by soft line breaks;
 * here many random variants and readers prove no line goes over, and every part decodes back to
 * exactly the text it came from.
 */
import { simpleParser } from "mailparser";
import { compileVariant, personalise, Placeholder } from "../../src/mail/personal-message";

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const alphabet = [
  ..."abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ..."        ",
  ..."=.,;:!?-_/()[]<>&\"'",
  "é",
  "ü",
  "ß",
  "—",
  "·",
  "中",
  "😀",
  "\t",
  "\n",
];
const placeholders = Object.values(Placeholder);

function text(next: () => number, length: number): string {
  let out = "";
  while (out.length < length) {
    const r = next();
    if (r < 0.02) out += placeholders[Math.floor(next() * placeholders.length)];
    else if (r < 0.05) out += "x".repeat(Math.floor(next() * 200));
    else if (r < 0.07) out += " ".repeat(Math.floor(next() * 90)) + "\n";
    else out += alphabet[Math.floor(next() * alphabet.length)];
  }
  return out;
}

describe("quoted-printable lines of personalised digests", () => {
  it("when 300 random variants are personalised for random readers, then no line exceeds 76 characters and every part decodes exactly", async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const rawText = text(next, 200 + Math.floor(next() * 3000));
      const rawHtml = `<p>${text(next, 200 + Math.floor(next() * 3000))}</p>`;
      const compiled = compileVariant(
        { subject: `Digest ${seed} ${text(next, 40).replace(/\s/g, " ")}`, html: rawHtml, text: rawText },
        "Daily Papers <papers@example.org>",
      );
      const local = "r".repeat(1 + Math.floor(next() * 60));
      const to = `${local}@example.org`;
      const unsubscribeUrl = `http://localhost:3000/unsubscribe/${"u".repeat(Math.floor(next() * 200))}=${seed}`;
      const preferencesUrl = `http://localhost:3000/preferences/${"p".repeat(Math.floor(next() * 200))}`;
      const raw = personalise(compiled, {
        to,
        messageId: `m${seed}@example.org`,
        date: new Date("2024-12-10T08:00:00Z"),
        unsubscribeUrl,
        preferencesUrl,
        headers: {},
      });
      const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
      const long = body.split("\r\n").filter((line) => line.length > 76);
      if (long.length)
        throw new Error(`seed ${seed}: ${long.length} lines over 76, e.g. ${long[0]!.length}: ${long[0]}`);
      const values = {
        [Placeholder.unsubscribeUrl]: unsubscribeUrl,
        [Placeholder.preferencesUrl]: preferencesUrl,
        [Placeholder.email]: to,
      };
      const fill = (s: string) => s.replace(/%%[A-Z_]+%%/g, (p) => values[p as keyof typeof values] ?? p);
      const parsed = await simpleParser(raw);
      expect(parsed.text?.replace(/\r\n/g, "\n")).toBe(fill(rawText).replace(/\r\n/g, "\n"));
      const escape = (s: string) =>
        s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
      const htmlValues = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, escape(v)]));
      expect(parsed.html).toBe(rawHtml.replace(/%%[A-Z_]+%%/g, (p) => htmlValues[p] ?? p));
    }
  });
});
