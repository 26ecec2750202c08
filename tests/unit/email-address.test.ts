import { normalizeEmail } from "../../src/subscriptions/email-address";

describe("normalizeEmail", () => {
  it("when an address has spaces around it and upper-case letters, then it is trimmed and lower-cased", () => {
    expect(normalizeEmail("  Ada.Lovelace+papers@Example.ORG \t")).toEqual({
      ok: true,
      email: "ada.lovelace+papers@example.org",
    });
  });

  it("when two addresses differ only by case, then they have one canonical form", () => {
    const variants = [
      "Ada.Reader@example.com",
      "ada.reader@example.com",
      "ADA.READER@EXAMPLE.COM",
      "aDa.ReAdEr@Example.Com",
    ];
    expect(new Set(variants.map((v) => (normalizeEmail(v) as { email: string }).email))).toEqual(
      new Set(["ada.reader@example.com"]),
    );
  });

  it("when the domain is internationalised, then it is stored in ASCII (punycode)", () => {
    expect(normalizeEmail("leser@Bücher.example")).toEqual({ ok: true, email: "leser@xn--bcher-kva.example" });
    expect(normalizeEmail("user@例え。テスト")).toEqual({ ok: true, email: "user@xn--r8jz45g.xn--zckzah" });
    expect(normalizeEmail("user@example.org.")).toEqual({ ok: true, email: "user@example.org" });
  });

  it.each([
    ["a line break (header injection)", "reader@example.org\r\nBcc: victim@example.org"],
    ["a bare LF", "reader@example.org\nX: y"],
    ["a NUL", "reader@exa\u0000mple.org"],
    ["a Unicode line separator", "reader@example.org\u2028"],
    ["a display name", "Reader <reader@example.org>"],
    ["two addresses", "a@example.org, b@example.org"],
    ["a quoted local part", '"a b"@example.org'],
    ["no @", "reader.example.org"],
    ["two @", "reader@@example.org"],
    ["no domain", "reader@"],
    ["a domain without a dot", "reader@localhost"],
    ["a bad top-level domain", "reader@example.c0m"],
    ["a label starting with a hyphen", "reader@-example.org"],
    ["consecutive dots", "a..b@example.org"],
    ["a non-ASCII local part", "jörg@example.org"],
    ["too long", `${"a".repeat(65)}@example.org`],
    ["empty", "   "],
  ])("when the address has %s, then it is refused with a reason", (_what, raw) => {
    const result = normalizeEmail(raw);
    expect(result.ok).toBe(false);
    expect(result).toHaveProperty("reason", expect.any(String));
  });

  it("when the input is not a string, then it is refused", () => {
    expect(normalizeEmail(["a@example.org"]).ok).toBe(false);
    expect(normalizeEmail(undefined).ok).toBe(false);
  });
});
