import { selectPapers, variantKey, type CandidatePaper } from "../../src/digests/select-papers";
import { digestHeading, digestRange, parseDay } from "../../src/digests/days";

const paper = (id: number, upvotes: number, topicIds: number[]): CandidatePaper => ({
  id,
  arxivId: `2412.0000${id}`,
  title: `P${id}`,
  abstract: "",
  url: "",
  authorCount: 1,
  arxivDate: "2024-12-10",
  upvotes,
  topicIds,
});
// Already in trending order, as loadCandidates returns them.
const candidates = [paper(1, 50, [1]), paper(2, 40, [2]), paper(3, 30, [1, 2]), paper(4, 20, [3]), paper(5, 10, [])];

describe("choosing a reader's papers", () => {
  it("when topics are chosen, then papers matching any of them come in trending order, at most max", () => {
    expect(selectPapers(candidates, [1], 10).map((p) => p.id)).toEqual([1, 3]);
    expect(selectPapers(candidates, [1, 2], 2).map((p) => p.id)).toEqual([1, 2]);
    expect(selectPapers(candidates, [3], 10).map((p) => p.id)).toEqual([4]);
  });

  it("when no topic is chosen, then every paper counts", () => {
    expect(selectPapers(candidates, [], 3).map((p) => p.id)).toEqual([1, 2, 3]);
  });

  it("when a topic has no paper that day, then the list is empty (no email)", () => {
    expect(selectPapers(candidates, [9], 10)).toEqual([]);
  });

  it("when two choices give the same list, then they share one variant key", () => {
    expect(variantKey(selectPapers(candidates, [1], 10))).toBe(variantKey(selectPapers(candidates, [1, 9], 10)));
    expect(variantKey(selectPapers(candidates, [1], 10))).not.toBe(variantKey(selectPapers(candidates, [2], 10)));
  });
});

describe("digest days", () => {
  it("when a date is malformed or not a real day, then it is refused", () => {
    expect(parseDay("2024-12-10")).toBe("2024-12-10");
    expect(() => parseDay("2024-02-30")).toThrow(/not a real day/);
    expect(() => parseDay("10/12/2024")).toThrow(/YYYY-MM-DD/);
    expect(() => parseDay(undefined)).toThrow(/YYYY-MM-DD/);
  });

  it("when the digest is weekly, then it covers the seven days ending on its day", () => {
    expect(digestRange("2024-12-10", "weekly")).toEqual({ from: "2024-12-04", to: "2024-12-10" });
    expect(digestRange("2024-12-10", "daily")).toEqual({ from: "2024-12-10", to: "2024-12-10" });
    expect(digestHeading("2024-12-10", "weekly")).toBe("the week of 4–10 December 2024");
  });
});
