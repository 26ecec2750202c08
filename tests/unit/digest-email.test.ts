import { renderDigest, subjectFor, type DigestPaper, type DigestView } from "../../src/digests/render";
import { digestHeading } from "../../src/digests/days";
import { authorLine, cleanLatex, shortDay } from "../../src/papers/display";

/** A paper with every field the Hugging Face page shows, long texts as real abstracts have. */
const fullPaper = (n: number): DigestPaper => ({
  title: `Paper ${n}: Large Multimodal Models as General In-Context Classifiers for Open-World Recognition`,
  url: `https://huggingface.co/papers/2602.2322${n}`,
  abstract: `We study $\\mathcal{O}(n^2)$ attention with {\\raise.17ex\\scriptstyle\\sim}30\\% fewer FLOPs. ${"Which multimodal model should we use for classification? ".repeat(30)}`,
  authorCount: 7,
  arxivDate: "2026-02-26",
  upvotes: 100 + n,
  topics: ["Multimodal", "Computer vision"],
  authors: [
    "Marco Garosi",
    "Matteo Farina",
    "Alessandro Conti",
    "Massimiliano Mancini",
    "Elisa Ricci",
    "A. Sixth",
    "B. Seventh",
  ],
  aiSummary:
    "Large Multimodal Models demonstrate superior performance in closed-world classification with in-context learning.",
  thumbnailUrl: `https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2602.2322${n}.png`,
  arxivUrl: `https://arxiv.org/abs/2602.2322${n}`,
  pdfUrl: `https://arxiv.org/pdf/2602.2322${n}`,
  githubUrl: "https://github.com/marco-garosi/CIRCLE",
  githubStars: 1234,
  projectUrl: "https://circle-lmm.github.io/",
  comments: 3,
  organization: "Multimedia and Human Understanding Group",
});

const view = (papers: DigestPaper[], frequency: "daily" | "weekly" = "daily"): DigestView => ({
  heading: digestHeading("2026-03-06", frequency),
  webUrl: "http://localhost:3000/digests/2026-03-06?papers=2602.23221,2602.23222",
  dayUrl: "http://localhost:3000/digests/2026-03-06",
  frequency,
  papers,
});

describe("the digest email reads well everywhere", () => {
  it("when ten complete papers are rendered, then the HTML stays under Gmail's 102 KB clipping size", async () => {
    const { html, text } = await renderDigest(view(Array.from({ length: 10 }, (_, i) => fullPaper(i))));
    const kb = Buffer.byteLength(html) / 1024;
    console.log(
      `digest of ten complete papers: HTML ${kb.toFixed(1)} KB, text ${(Buffer.byteLength(text) / 1024).toFixed(1)} KB`,
    );
    expect(kb).toBeLessThan(102);
  });

  it("when rendered, then it shows what a reader looks for: authors et al., organisation, AI summary, links, stars, comments", async () => {
    const { html, text } = await renderDigest(view([fullPaper(1)]));
    expect(html).toContain("Marco Garosi, Matteo Farina, Alessandro Conti et al.");
    expect(html).toContain("Multimedia and Human Understanding Group");
    expect(html).toContain("Large Multimodal Models demonstrate superior performance");
    expect(html).toMatch(/<img[^>]+src="https:\/\/cdn-thumbnails\.huggingface\.co[^"]+"[^>]*>/);
    expect(html).toMatch(/<img[^>]+alt="Thumbnail of “Paper 1: Large Multimodal/);
    expect(html).toMatch(/<img[^>]+width="536"/);
    expect(html).toContain('href="https://arxiv.org/abs/2602.23221"');
    expect(html).toContain('href="https://arxiv.org/pdf/2602.23221"');
    expect(html).toContain("Code (1.2k stars)");
    expect(html).toContain('href="https://circle-lmm.github.io/"');
    expect(html).toContain("3 comments");
    // The AI summary comes before the abstract excerpt.
    expect(html.indexOf("demonstrate superior")).toBeLessThan(html.indexOf("Which multimodal model"));
    expect(text).toContain(
      "Marco Garosi, Matteo Farina, Alessandro Conti et al. · Multimedia and Human Understanding Group",
    );
    expect(text).toContain("PDF: https://arxiv.org/pdf/2602.23221");
  });

  it("when rendered, then there are dark-mode styles, no remote fonts, link-looking titles and an accessible upvote mark", async () => {
    const { html } = await renderDigest(view([fullPaper(1)]));
    expect(html).toContain("@media (prefers-color-scheme: dark)");
    expect(html).toContain('<meta name="color-scheme" content="light dark">');
    expect(html).not.toMatch(/fonts\.googleapis|@import|<link[^>]+font/);
    expect(html).toMatch(
      /<h2><a href="https:\/\/huggingface\.co\/papers\/2602\.23221" style="color:#1d4ed8;text-decoration:underline">/,
    );
    expect(html).toContain('<span aria-hidden="true">▲</span> 101 upvotes');
    expect(html).toContain("View in your browser");
  });

  it("when an abstract carries LaTeX, then the reader sees text, not TeX", async () => {
    const { html } = await renderDigest(view([fullPaper(1)]));
    expect(html).toContain("We study O(n^2) attention with ~30% fewer FLOPs.");
    expect(html).not.toMatch(/\\raise|\\scriptstyle|\\mathcal|\$/);
    expect(cleanLatex("loss $\\mathcal{L}_{\\text{KL}}$ and $\\alpha \\leq 0.5$")).toBe("loss L_KL and α ≤ 0.5");
  });

  it("when the digest is weekly, then the subject reads cleanly with one date format", () => {
    expect(digestHeading("2025-12-10", "weekly")).toBe("the week of 4–10 December 2025");
    expect(digestHeading("2026-01-02", "weekly")).toBe("the week of 27 December 2025 – 2 January 2026");
    expect(
      subjectFor({ heading: digestHeading("2025-12-10", "weekly"), webUrl: "", papers: [fullPaper(1), fullPaper(2)] }),
    ).toBe(
      "Daily Papers · week of 4–10 December 2025: Paper 1: Large Multimodal Models as General In-Context Classifiers for Open-Wor… and 1 more",
    );
    expect(digestHeading("2025-12-10", "daily")).toBe("Wednesday 10 December 2025");
    expect(shortDay("2025-03-18")).toBe("18 Mar 2025");
  });

  it("when a paper has many authors, then the first three and et al.; four are all shown", () => {
    expect(authorLine(["A", "B", "C", "D", "E"])).toBe("A, B, C et al.");
    expect(authorLine(["A", "B", "C", "D"])).toBe("A, B, C, D");
    expect(authorLine([])).toBe("");
  });
});
