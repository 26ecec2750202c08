import { normalizeEmail } from "../../src/subscriptions/email-address";

const ok = (raw: string) => normalizeEmail(raw);

describe("normalizeEmail", () => {
  it("when an address has spaces around it and an upper-case domain, then it is trimmed and the domain lower-cased", () => {
    expect(ok("  Ada.Lovelace@Example.ORG \n")).toEqual({ ok: true, email: "Ada.Lovelace@example.org" });
  });

  it("when the domain is internationalised, then it is stored in ASCII (punycode)", () => {
    expect(ok("anna@bücher.example")).toEqual({ ok: true, email: "anna@xn--bcher-kva.example" });
    expect(ok("user@ÉXAMPLE.fr")).toEqual({ ok: true, email: "user@xn--xample-9ua.fr" });
  });

  it("when the domain ends with a dot, then the dot is dropped", () => {
    expect(ok("a@example.org.")).toEqual({ ok: true, email: "a@example.org" });
  });

  it("when the local part uses plus and other allowed characters, then it is kept as written", () => {
    expect(ok("first.last+papers@example.org")).toEqual({ ok: true, email: "first.last+papers@example.org" });
    expect(ok("o'brien!#$%&*=?^_`{|}~@example.org")).toMatchObject({ ok: true });
  });

  it.each([
    ["", "empty"],
    ["   ", "empty"],
    ["no-at-sign.example.org", "has no @"],
    ["a@b@example.org", "more than one @"],
    ["@example.org", "nothing before"],
    ["someone@", "nothing after"],
    ["someone@localhost", "no dot"],
    ["a b@example.org", "not allowed"],
    ['"quoted"@example.org', "not allowed"],
    ["a@exa_mple.org", "not valid"],
    ["a@-example.org", "not valid"],
    ["a@example.123", "not valid"],
    ["a@[127.0.0.1]", "IP address"],
    [".a@example.org", "dot"],
    ["a..b@example.org", "dot"],
  ])("when the address is %j, then it is refused (%s)", (raw, reason) => {
    const result = normalizeEmail(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("when the address carries a line break or a control character (header injection), then it is refused", () => {
    for (const raw of ["a@example.org\r\nBcc: victim@example.org", "a@exam\nple.org", "a\u0000@example.org", "a@example.org\u2028x"]) {
      expect(normalizeEmail(raw)).toEqual({ ok: false, reason: "contains line breaks or control characters" });
    }
  });

  it("when a part is longer than the RFC limits, then it is refused", () => {
    expect(normalizeEmail(`${"a".repeat(65)}@example.org`)).toMatchObject({ ok: false, reason: expect.stringContaining("64") });
    expect(normalizeEmail(`a@${"b".repeat(64)}.org`)).toMatchObject({ ok: false });
    const longDomain = Array.from({ length: 5 }, () => "c".repeat(60)).join(".") + ".org";
    expect(normalizeEmail(`a@${longDomain}`)).toMatchObject({ ok: false });
    const tooLong = `${"a".repeat(64)}@${Array.from({ length: 3 }, () => "d".repeat(62)).join(".")}.org`;
    expect(normalizeEmail(tooLong)).toMatchObject({ ok: false, reason: expect.stringContaining("254") });
  });
});
