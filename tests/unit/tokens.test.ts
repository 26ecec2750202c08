import { expect } from "@jest/globals";
import { createTokens } from "../../src/subscriptions/tokens";

const tokens = createTokens("x".repeat(40));
const id = "5b0f3e0e-8d4a-4a57-9d59-0d5f3c1b2a10";

describe("link tokens", () => {
  it("when a token is signed, then it verifies for its purpose and carries no address", () => {
    const token = tokens.sign("unsubscribe", id, 3);
    const check = tokens.verify("unsubscribe", token);
    expect(check).toEqual({ ok: true, claims: { subscriberId: id, version: 3, issuedAt: expect.any(Number) } });
    expect(token).not.toContain("@");
  });

  it("when a token is used for another purpose, then it is refused", () => {
    expect(tokens.verify("unsubscribe", tokens.sign("confirm", id, 0))).toEqual({ ok: false, reason: "bad-signature" });
    expect(tokens.verify("confirm", tokens.sign("unsubscribe", id, 0))).toEqual({ ok: false, reason: "bad-signature" });
  });

  it("when a token is tampered with, then it is refused", () => {
    const token = tokens.sign("manage", id, 0);
    const [payload, sig] = token.split(".");
    const otherPayload = Buffer.from(`${id.replace(/.$/, "1")}.0.abc`).toString("base64url");
    expect(tokens.verify("manage", `${otherPayload}.${sig}`).ok).toBe(false);
    expect(tokens.verify("manage", `${payload}.${sig!.slice(0, -2)}AA`).ok).toBe(false);
    expect(tokens.verify("manage", "garbage").ok).toBe(false);
    expect(tokens.verify("manage", "a".repeat(500)).ok).toBe(false);
  });

  it("when a token is signed with another secret, then it is refused", () => {
    const other = createTokens("y".repeat(40));
    expect(tokens.verify("manage", other.sign("manage", id, 0)).ok).toBe(false);
  });

  it("when a confirm token is older than its lifetime, then it is expired", () => {
    const issued = Date.UTC(2026, 0, 1);
    const token = tokens.sign("confirm", id, 0, issued);
    expect(tokens.verify("confirm", token, 3600_000, issued + 3599_000).ok).toBe(true);
    expect(tokens.verify("confirm", token, 3600_000, issued + 3601_000)).toEqual({ ok: false, reason: "expired" });
  });

  it("when SECRET was rotated, then links signed with a SECRET_PREVIOUS still verify and new ones use the new secret", () => {
    const before = createTokens("old-".repeat(10));
    const inInbox = before.sign("unsubscribe", id, 2);
    const rotated = createTokens("new-".repeat(10), ["older".repeat(8), "old-".repeat(10)]);
    expect(rotated.verify("unsubscribe", inInbox)).toEqual({
      ok: true,
      claims: expect.objectContaining({ version: 2 }),
    });
    // Still purpose-bound under the old secret.
    expect(rotated.verify("confirm", inInbox).ok).toBe(false);
    const fresh = rotated.sign("unsubscribe", id, 2);
    expect(createTokens("new-".repeat(10)).verify("unsubscribe", fresh).ok).toBe(true);
    expect(before.verify("unsubscribe", fresh).ok).toBe(false);
    // Without the old secret listed, the old link is refused.
    expect(createTokens("new-".repeat(10)).verify("unsubscribe", inInbox).ok).toBe(false);
  });
});
