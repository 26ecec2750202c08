import { expect } from "@jest/globals";
import { maskUrl } from "../../src/web/app";
import { decodeCursor } from "../../src/admin/queries";
import { parseDay } from "../../src/digests/days";
import { loadConfig } from "../../src/config";
import { renderDigest, subjectFor } from "../../src/digests/render";
import { createConfirmationRenderer, createReminderRenderer } from "../../src/subscriptions/confirmation-email";

describe("what the log keeps of a request address", () => {
  it.each([
    ["/confirm/abc.def", "/confirm/…"],
    ["/CONFIRM/abc.def", "/CONFIRM/…"],
    ["/preferences/abc.def/export", "/preferences/…/export"],
    ["/Unsubscribe/abc.def/undo", "/Unsubscribe/…/undo"],
    [`/somewhere/${"x".repeat(60)}`, "/somewhere/…"],
    ["/admin/api/subscribers?q=ada@example.org&limit=5", "/admin/api/subscribers?q=…&limit=…"],
    ["/papers/2025-12-10", "/papers/2025-12-10"],
  ])("when %s is logged, then it reads %s", (url, logged) => {
    expect(maskUrl(url)).toBe(logged);
  });
});

describe("values PostgreSQL cannot hold never reach it", () => {
  it("when a day is year 0000, 0001 or past 9998, then it is a 400 before any query", () => {
    for (const day of ["0000-01-01", "0000-12-31", "0001-01-01", "9999-12-31"])
      expect(() => parseDay(day)).toThrow(expect.objectContaining({ status: 400 }));
    expect(parseDay("2025-12-10")).toBe("2025-12-10");
  });

  it("when a cursor is malformed or out of range, then it is not a cursor", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const id = "0b7c3b4e-8a44-4a7e-9a55-8f1e1a2b3c4d";
    expect(decodeCursor(b64(`2026-01-01T00:00:00.000Z|${id}`))).toEqual({ createdAt: new Date("2026-01-01"), id });
    for (const bad of [
      `0000-01-01T00:00:00.000Z|${id}`,
      `+275760-09-13T00:00:00.000Z|${id}`,
      `2026-01-01T00:00:00.000Z|${"-".repeat(36)}`,
      `2026-01-01T00:00:00.000Z|${id}|x`,
      `yesterday|${id}`,
    ])
      expect(decodeCursor(b64(bad))).toBeUndefined();
  });
});

describe("TRUST_PROXY", () => {
  const base = { SECRET: "s".repeat(40), DATA_DIR: "/tmp/never-written" };
  it("when unset, then no proxy is trusted; numbers, lists and true are read as Express reads them", () => {
    expect(loadConfig(base).TRUST_PROXY).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: "1" }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ ...base, TRUST_PROXY: "true" }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ ...base, TRUST_PROXY: "loopback, 10.0.0.0/8" }).TRUST_PROXY).toBe("loopback, 10.0.0.0/8");
  });
  it("when it is not an address, then the process refuses to start, naming it", () => {
    expect(() => loadConfig({ ...base, TRUST_PROXY: "the-proxy" })).toThrow(/TRUST_PROXY/);
  });
});

describe("emails load nothing from elsewhere", () => {
  const remote = (html: string) =>
    [...html.matchAll(/(?:src|href)=["']?(https?:\/\/[^"' >]+)|@import[^;]*|url\((https?:[^)]+)\)/gi)]
      .map((m) => m[0])
      .filter((u) => !u.includes("papers.example"));

  it("when the confirmation, the reminder and a digest are rendered, then no font, stylesheet or image comes from another site", async () => {
    const confirmation = await createConfirmationRenderer()({
      email: "a@example.org",
      confirmUrl: "https://papers.example/confirm/t",
      topics: [],
      frequency: "daily",
      ttlHours: 72,
      purgeDays: 7,
    });
    const reminder = await createReminderRenderer()({
      email: "a@example.org",
      preferencesUrl: "https://papers.example/preferences/t",
    });
    const digest = await renderDigest({
      heading: "Tuesday 10 December 2024",
      webUrl: "https://papers.example/digests/2024-12-10",
      papers: [
        {
          title: "A paper",
          url: "https://papers.example/p",
          abstract: "An abstract.",
          authorCount: 2,
          upvotes: 3,
          topics: [],
        },
      ],
    });
    for (const html of [confirmation.html, reminder.html, digest.html]) {
      expect(html).not.toMatch(/fonts\.googleapis|<link[^>]+stylesheet/i);
      expect(remote(html)).toEqual([]);
    }
  });

  it("when a stored title holds a MIME encoded-word, then the Subject carries it inert", () => {
    const subject = subjectFor({
      heading: "Tuesday",
      webUrl: "https://papers.example/",
      papers: [{ title: "=?utf-8?B?SGk=?= there", url: "", abstract: "", authorCount: 1, upvotes: 1, topics: [] }],
    });
    expect(subject).not.toContain("=?utf-8?");
    expect(subject).toContain("= ?utf-8?B?SGk=?= there");
  });
});
