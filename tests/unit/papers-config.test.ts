import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config";
import { sourceFromConfig } from "../../src/papers/feature";
import { dayRange, todayIn } from "../../src/papers/days";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "papers-config-"));

describe("paper settings", () => {
  it("when nothing is set, then the real APIs and a three-hourly ingest are the defaults", () => {
    const config = loadConfig({ DATA_DIR: tmp() });
    expect(config.HF_API_URL).toBe("https://huggingface.co");
    expect(config.ARXIV_API_URL).toBe("https://export.arxiv.org/api/query");
    expect(config.INGEST_CRON).toBe("20 */3 * * *");
  });

  it.each([
    ["HF_API_URL", "ftp://example.org"],
    ["ARXIV_API_URL", "not a url"],
    ["INGEST_CRON", "hourly"],
  ])("when %s is %p, then start-up stops with a message naming it", (name, value) => {
    expect(() => loadConfig({ DATA_DIR: tmp(), [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: tmp(), [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it("when PAPERS_SOURCE names each kind, then the matching source is built", () => {
    const config = loadConfig({ DATA_DIR: tmp() });
    expect(sourceFromConfig(config, "huggingface").name).toBe("huggingface");
    expect(sourceFromConfig(config, "arxiv").name).toBe("arxiv");
    expect(sourceFromConfig(config, "sample").name).toBe("sample");
    expect(sourceFromConfig(config, "file:/tmp/x.json").name).toBe("file:/tmp/x.json");
    expect(() => sourceFromConfig(config, "rss")).toThrow(/unknown paper source "rss"/);
  });
});

describe("days", () => {
  it("when it is late evening in UTC, then today in Asia/Tokyo is already the next day", () => {
    const now = new Date("2025-12-10T20:00:00Z");
    expect(todayIn("UTC", now)).toBe("2025-12-10");
    expect(todayIn("Asia/Tokyo", now)).toBe("2025-12-11");
  });

  it("when a range crosses a month, then every day is listed once; a reversed range is refused", () => {
    expect(dayRange("2025-11-29", "2025-12-02")).toEqual(["2025-11-29", "2025-11-30", "2025-12-01", "2025-12-02"]);
    expect(() => dayRange("2025-12-02", "2025-12-01")).toThrow(/after/);
  });
});
