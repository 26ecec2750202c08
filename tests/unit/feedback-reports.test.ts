import { expect } from "@jest/globals";
import fs from "node:fs";
import path from "node:path";
import { readReport } from "../../src/feedback/reports/read-report";
import { classifyStatus, extractStatus } from "../../src/feedback/reports/status";
import { createReturnPaths } from "../../src/mail/return-path";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "feedback", name), "utf8");

describe("reading reports (recorded messages)", () => {
  it.each([
    ["postfix-hard-5.1.1.eml", "5.1.1", "hard"],
    ["postfix-soft-4.4.1.eml", "4.4.1", "soft"],
    ["amazonses-hard-5.1.1.eml", "5.1.1", "hard"],
    ["amazonses-soft-4.4.7.eml", "4.4.7", "soft"],
  ])("when %s is read, then it is a DSN with status %s, a %s bounce", (name, status, bounce) => {
    const report = readReport(fixture(name));
    expect(report.kind).toBe("dsn");
    expect(report.recipients).toEqual([expect.objectContaining({ action: "failed", status, bounce })]);
    expect(report.messageId).toBeTruthy();
  });

  it("when an ARF report is read, then it is a complaint report with its feedback type and the reported message's headers", () => {
    const report = readReport(fixture("arf-abuse.eml"));
    expect(report).toMatchObject({ kind: "arf", feedbackType: "abuse" });
    expect(report.returnedHeaders).toMatch(/^Return-Path: <support@example.ed.jp>/);
  });

  it("when an ordinary message is read, then it is neither", () => {
    expect(readReport("From: a@b.c\r\nSubject: unsubscribe\r\n\r\nplease\r\n")).toMatchObject({
      kind: "other",
      from: "a@b.c",
      subject: "unsubscribe",
    });
  });
});

describe("hard or soft by status code", () => {
  it.each([
    ["5.1.1", "hard"],
    ["5.0.0", "hard"],
    ["5.2.1", "hard"],
    ["5.2.2", "soft"],
    ["5.7.1", "soft"],
    ["5.4.4", "soft"],
    ["4.4.7", "soft"],
    ["2.0.0", undefined],
  ])("%s is %s", (status, expected) => expect(classifyStatus(status)).toBe(expected));

  it("when a DSN has no Status field, then the diagnostic's code is used", () => {
    expect(extractStatus(undefined, "smtp; 550 5.1.1 <x@y>: Recipient address rejected")).toBe("5.1.1");
    expect(extractStatus(undefined, "smtp; 550 Requested action not taken")).toBe("5.0.0");
  });
});

describe("return paths (VERP)", () => {
  const paths = createReturnPaths({
    bounceAddress: "bounces@bounce.example.org",
    unsubscribeAddress: "unsubscribe@example.org",
    secret: "s".repeat(40),
  });
  const subscriberId = "5b0f3e0e-8d4a-4a57-9d59-0d5f3c1b2a10";

  it("when a delivery's return path comes back, then it names that delivery, whatever the case", () => {
    const address = paths.forDelivery(123456789012345n);
    expect(address.split("@")[0]!.length).toBeLessThanOrEqual(64);
    expect(paths.parse(address)).toEqual({
      role: "bounce",
      forged: false,
      ref: { type: "delivery", deliveryId: 123456789012345n },
    });
    expect(paths.parse(address.toUpperCase())).toMatchObject({ ref: { deliveryId: 123456789012345n } });
    const confirmation = paths.forConfirmation(subscriberId);
    expect(confirmation.split("@")[0]!.length).toBeLessThanOrEqual(64);
    expect(paths.parse(confirmation)).toMatchObject({ ref: { type: "subscriber", subscriberId } });
    expect(paths.parse(paths.unsubscribeMailto(subscriberId)!)).toEqual({
      role: "unsubscribe",
      subscriberId,
      forged: false,
    });
  });

  it("when a tag is forged or altered, then it is marked forged; other addresses are unknown", () => {
    const address = paths.forDelivery(42n);
    const forgedId = address.replace(/\+d[0-9a-z]+-/, "+d43-");
    expect(paths.parse(forgedId)).toEqual({ role: "bounce", forged: true });
    expect(paths.parse("bounces+d1-0000000000000000@bounce.example.org")).toEqual({ role: "bounce", forged: true });
    // A bounce tag is no unsubscribe tag.
    expect(
      paths.parse(address.replace("bounces+", "unsubscribe+").replace("bounce.example.org", "example.org")),
    ).toEqual({
      role: "unsubscribe",
      forged: true,
    });
    expect(paths.parse("bounces@bounce.example.org")).toEqual({ role: "bounce", forged: false });
    expect(paths.parse("postmaster@bounce.example.org")).toEqual({ role: "unknown" });
    expect(paths.parse("bounces@elsewhere.example")).toEqual({ role: "unknown" });
  });

  it("when SECRET was rotated, then return paths signed before still verify", () => {
    const before = createReturnPaths({ bounceAddress: "bounces@b.example", secret: "o".repeat(40) });
    const after = createReturnPaths({
      bounceAddress: "bounces@b.example",
      secret: "n".repeat(40),
      previousSecrets: ["o".repeat(40)],
    });
    expect(after.parse(before.forDelivery(7n))).toMatchObject({ forged: false, ref: { deliveryId: 7n } });
    expect(
      createReturnPaths({ bounceAddress: "bounces@b.example", secret: "n".repeat(40) }).parse(before.forDelivery(7n)),
    ).toMatchObject({ forged: true });
  });
});
