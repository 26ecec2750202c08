/**
 * Screenshots of the digest email as readers see it: 600 px (desktop clients) and 375 px (a phone),
 * light and dark, in Debian's Chromium driven by playwright-core. The digest is rendered by the
 * product's own renderDigest from real papers: the recorded Hugging Face entry
 * (tests/fixtures/papers/hf-current-shape.json) and the seed page's papers. Nothing leaves the
 * machine: every remote request is answered locally, thumbnails with a grey placeholder image.
 *
 *   npx tsx scripts/email-screenshots.ts [outDir]     (default docs/screenshots)
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { chromium } from "playwright-core";
import { renderDigest, type DigestPaper } from "../src/digests/render";
import { digestHeading } from "../src/digests/days";

const root = path.resolve(__dirname, "..");
const outDir = path.resolve(process.argv[2] ?? path.join(root, "docs", "screenshots"));

type HfEntry = {
  paper: {
    id: string;
    title: string;
    summary: string;
    authors: { name: string; hidden?: boolean }[];
    publishedAt: string;
    upvotes: number;
    ai_summary?: string;
    githubRepo?: string;
    githubStars?: number;
    projectPage?: string;
    organization?: { fullname?: string };
  };
  thumbnail?: string;
  numComments?: number;
};

/** A solid grey PNG, built here, standing in for the remote thumbnails. */
function placeholderPng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0xc8)]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function digestHtml(): Promise<string> {
  const [hf] = JSON.parse(
    fs.readFileSync(path.join(root, "tests/fixtures/papers/hf-current-shape.json"), "utf8"),
  ) as HfEntry[];
  const sample = JSON.parse(fs.readFileSync(path.join(root, "src/papers/sources/sample-papers.json"), "utf8")) as {
    paper: { id: string; title: string; summary: string; authors: { name: string }[]; upvotes?: number };
  }[];
  const recorded: DigestPaper = {
    title: hf!.paper.title,
    url: `https://huggingface.co/papers/${hf!.paper.id}`,
    abstract: hf!.paper.summary,
    authorCount: hf!.paper.authors.length,
    arxivDate: hf!.paper.publishedAt.slice(0, 10),
    upvotes: hf!.paper.upvotes,
    topics: ["Computer vision", "Multimodal"],
    authors: hf!.paper.authors.filter((a) => !a.hidden).map((a) => a.name),
    aiSummary: hf!.paper.ai_summary,
    thumbnailUrl: hf!.thumbnail,
    arxivUrl: `https://arxiv.org/abs/${hf!.paper.id}`,
    pdfUrl: `https://arxiv.org/pdf/${hf!.paper.id}`,
    githubUrl: hf!.paper.githubRepo,
    githubStars: hf!.paper.githubStars,
    projectUrl: hf!.paper.projectPage,
    comments: hf!.numComments,
    organization: hf!.paper.organization?.fullname,
  };
  const seed: DigestPaper[] = sample.slice(0, 3).map((e) => ({
    title: e.paper.title,
    url: `https://arxiv.org/search/?searchtype=title&query=${encodeURIComponent(e.paper.title)}`,
    abstract: e.paper.summary,
    authorCount: e.paper.authors.length,
    upvotes: e.paper.upvotes ?? 0,
    topics: [],
    authors: e.paper.authors.map((a) => a.name),
  }));
  const { html } = await renderDigest({
    heading: digestHeading("2026-03-06", "daily"),
    webUrl: "http://localhost:3000/digests/2026-03-06?papers=2602.23229",
    dayUrl: "http://localhost:3000/digests/2026-03-06",
    papers: [recorded, ...seed],
  });
  return html
    .replace(/%%EMAIL%%/g, "reader@example.org")
    .replace(/%%(UNSUBSCRIBE_URL|PREFERENCES_URL)%%/g, "http://localhost:3000/");
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const html = await digestHtml();
  const thumb = placeholderPng(600, 315);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    for (const width of [600, 375])
      for (const scheme of ["light", "dark"] as const) {
        const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: scheme });
        const page = await context.newPage();
        // No request leaves the machine: images get the local placeholder, anything else nothing.
        await page.route("**/*", (route) =>
          route.request().resourceType() === "image"
            ? route.fulfill({ status: 200, contentType: "image/png", body: thumb })
            : route.abort(),
        );
        await page.setContent(html, { waitUntil: "load" });
        const file = path.join(outDir, `digest-${width}-${scheme}.png`);
        await page.screenshot({ path: file, fullPage: true });
        console.log(file);
        await context.close();
      }
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
