import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, ConfigError } from "../../src/config";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "papers-config-"));

describe("configuration", () => {
  it("when nothing is set, then the documented defaults apply and a secret is generated once", () => {
    const dir = tmp();
    const config = loadConfig({ DATA_DIR: dir });
    expect(config.PORT).toBe(3000);
    expect(config.BASE_URL).toBe("http://localhost:3000");
    expect(config.MAIL_FROM).toBe("Daily Papers <papers@localhost>");
    expect(config.DIGEST_CRON).toBe("0 8 * * *");
    expect(config.DIGEST_TZ).toBe("UTC");
    expect(config.PAPERS_SOURCE).toBe("huggingface");
    expect(config.SUBSCRIBE_LIMIT_PER_IP).toBe(20);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.ADMIN_TOKEN).toBeUndefined();
    expect(config.SECRET.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ DATA_DIR: dir }).SECRET).toBe(config.SECRET);
    expect(fs.statSync(path.join(dir, "secret")).mode & 0o777).toBe(0o600);
    expect(config.SECRET_PREVIOUS).toEqual([]);
  });

  it("when SECRET_PREVIOUS lists earlier secrets, then each is kept, in order", () => {
    const config = loadConfig({ DATA_DIR: tmp(), SECRET_PREVIOUS: ` ${"a".repeat(32)} , ${"b".repeat(40)},` });
    expect(config.SECRET_PREVIOUS).toEqual(["a".repeat(32), "b".repeat(40)]);
  });

  it.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["DATABASE_URL", "mysql://x"],
    ["REDIS_URL", "localhost:6379"],
    ["SMTP_URL", "http://mail"],
    ["BASE_URL", "not a url"],
    ["DIGEST_TZ", "Mars/Olympus"],
    ["DIGEST_CRON", "every day"],
    ["PAPERS_SOURCE", "twitter"],
    ["SECRET", "short"],
    ["SECRET_PREVIOUS", `${"a".repeat(40)},short`],
    ["SUBSCRIBE_LIMIT_PER_IP", "-3"],
  ])("when %s is %p, then start-up stops with a message naming it", (name, value) => {
    expect(() => loadConfig({ DATA_DIR: tmp(), [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: tmp(), [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it("when NODE_ENV is production without SECRET, then start-up stops", () => {
    expect(() => loadConfig({ DATA_DIR: tmp(), NODE_ENV: "production" })).toThrow(/SECRET: required/);
  });

  it("when only part of DKIM is set, then start-up stops", () => {
    expect(() => loadConfig({ DATA_DIR: tmp(), DKIM_DOMAIN: "example.org" })).toThrow(
      /DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY/,
    );
  });

  it("when BASE_URL has a trailing slash, then links are built without a double slash", () => {
    expect(loadConfig({ DATA_DIR: tmp(), BASE_URL: "https://papers.example.org/" }).BASE_URL).toBe(
      "https://papers.example.org",
    );
  });
});
