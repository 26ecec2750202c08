import { compareTrending, rankTrending } from "../../src/papers/ranking";

describe("trending order", () => {
  it("when upvotes differ, then the most upvoted comes first", () => {
    const ranked = rankTrending([
      { arxivId: "2401.00001", upvotes: 1, arxivDate: "2024-01-01" },
      { arxivId: "2401.00002", upvotes: 9, arxivDate: "2023-01-01" },
    ]);
    expect(ranked.map((p) => p.arxivId)).toEqual(["2401.00002", "2401.00001"]);
  });

  it("when upvotes tie, then the newer arXiv date wins and an unknown date goes last", () => {
    const ranked = rankTrending([
      { arxivId: "a", upvotes: 2, arxivDate: null },
      { arxivId: "b", upvotes: 2, arxivDate: "2023-05-01" },
      { arxivId: "c", upvotes: 2, arxivDate: new Date("2024-05-01") },
    ]);
    expect(ranked.map((p) => p.arxivId)).toEqual(["c", "b", "a"]);
  });

  it("when upvotes and dates tie, then the arXiv id decides in byte order, whatever the input order", () => {
    const papers = [
      { arxivId: "2401.10000", upvotes: 0, arxivDate: "2024-01-01" },
      { arxivId: "2401.0999", upvotes: 0, arxivDate: "2024-01-01" },
      { arxivId: "2401.09999", upvotes: 0, arxivDate: "2024-01-01" },
    ];
    const expected = ["2401.0999", "2401.09999", "2401.10000"];
    expect(rankTrending(papers).map((p) => p.arxivId)).toEqual(expected);
    expect(rankTrending([...papers].reverse()).map((p) => p.arxivId)).toEqual(expected);
    expect(compareTrending(papers[0]!, papers[0]!)).toBe(0);
  });

  it("when ranking, then the input is left as it was", () => {
    const papers = [
      { arxivId: "x", upvotes: 0, arxivDate: null },
      { arxivId: "y", upvotes: 5, arxivDate: null },
    ];
    rankTrending(papers);
    expect(papers[0]!.arxivId).toBe("x");
  });
});
