import { expect } from "@jest/globals";
import { MAX_FOLLOWS, parseFollows } from "../../src/subscriptions/follows";
import { followLabel, followMatcher } from "../../src/digests/follow-match";
import { selectPapers, variantKey, type CandidatePaper } from "../../src/digests/select-papers";
import { followRules, parseChoiceKey } from "../../src/digests/assemble";
import { whyLine } from "../../src/digests/render";

const paper = (
  id: number,
  upvotes: number,
  topicIds: number[],
  extra: Partial<CandidatePaper> = {},
): CandidatePaper => ({
  id,
  arxivId: `2412.0000${id}`,
  title: `P${id}`,
  abstract: "",
  url: "",
  authorCount: 1,
  arxivDate: "2024-12-10",
  upvotes,
  topicIds,
  ...extra,
});

describe("what a reader may follow", () => {
  it("when keywords and authors are typed one a line, then they are trimmed, de-duplicated, keywords lower-cased", () => {
    expect(
      parseFollows({
        keywords: "  Diffusion   Distillation \n\nspeculative decoding, diffusion distillation",
        authors: "Yann LeCun\nyann lecun\nLeCun, Yann",
      }),
    ).toEqual([
      { kind: "keyword", value: "diffusion distillation" },
      { kind: "keyword", value: "speculative decoding" },
      { kind: "author", value: "Yann LeCun" },
    ]);
  });

  it("when a follow is too short, too long, odd, or there are too many, then the message says which", () => {
    expect(() => parseFollows({ keywords: "x" })).toThrow(/2 to 60 characters/);
    expect(() => parseFollows({ keywords: "a".repeat(61) })).toThrow(/2 to 60 characters/);
    expect(() => parseFollows({ keywords: "a | b" })).toThrow(/characters we cannot match/);
    expect(() => parseFollows({ authors: "<script>" })).toThrow(/characters we cannot match/);
    expect(() => parseFollows({ keywords: "--" })).toThrow(/characters we cannot match/);
    const many = Array.from({ length: MAX_FOLLOWS + 1 }, (_, i) => `topic ${i}`).join("\n");
    expect(() => parseFollows({ keywords: many })).toThrow(/at most 20/);
    expect(parseFollows({ keywords: "", authors: "" })).toEqual([]);
  });
});

describe("what a follow matches", () => {
  const kw = (value: string) => followMatcher({ kind: "keyword", value });
  const au = (value: string) => followMatcher({ kind: "author", value });
  const p = (title: string, extra: Partial<CandidatePaper> = {}) => paper(1, 1, [], { title, ...extra });

  it("when a phrase's words appear together as whole words, in any field, then it matches", () => {
    expect(kw("diffusion distillation")(p("Fast Diffusion-Distillation for images"))).toBe(true);
    expect(kw("diffusion distillation")(p("x", { abstract: "We study diffusion distillations." }))).toBe(true);
    expect(kw("diffusion distillation")(p("x", { keywords: ["diffusion distillation"] }))).toBe(true);
    expect(kw("diffusion distillation")(p("x", { aiSummary: "A diffusion distillation method." }))).toBe(true);
    expect(kw("diffusion distillation")(p("Distillation of diffusion models"))).toBe(false);
    expect(kw("rl")(p("Controlling the world"))).toBe(false);
    expect(kw("naïve bayes")(p("Naive Bayes, again"))).toBe(true);
  });

  it("when an author is followed, then full names, initials and surnames match, other people do not", () => {
    const authors = { authors: ["Yann LeCun", "José Müller"] };
    expect(au("Yann LeCun")(p("x", authors))).toBe(true);
    expect(au("yann lecun")(p("x", authors))).toBe(true);
    expect(au("Y. LeCun")(p("x", authors))).toBe(true);
    expect(au("LeCun")(p("x", authors))).toBe(true);
    expect(au("Jose Muller")(p("x", authors))).toBe(true);
    expect(au("Yoshua LeCun")(p("x", authors))).toBe(false);
    expect(au("Yann")(p("x", authors))).toBe(false);
    expect(followLabel({ kind: "keyword", value: "rl" })).toBe("“rl”");
  });
});

describe("a reader's selection with follows", () => {
  const candidates = [
    paper(1, 50, [1]),
    paper(2, 40, [2]),
    paper(3, 30, [1, 2]),
    paper(4, 20, [3], { title: "Diffusion distillation" }),
    paper(5, 10, [], { authors: ["Grace Hopper"] }),
  ];
  const rules = followRules([
    { kind: "keyword", value: "diffusion distillation" },
    { kind: "author", value: "Grace Hopper" },
  ]);

  it("when a reader follows things, then matching papers are in, whatever their topic, in trending order, with why", () => {
    const got = selectPapers(candidates, [1], 10, rules);
    expect(got.map((p) => p.id)).toEqual([1, 3, 4, 5]);
    expect(got.map((p) => [p.inTopics, p.follows])).toEqual([
      [[1], []],
      [[1, 2], []],
      [[], ["“diffusion distillation”"]],
      [[], ["Grace Hopper"]],
    ]);
  });

  it("when the list is full, then followed papers keep their place before topic papers", () => {
    expect(selectPapers(candidates, [], 2, rules).map((p) => p.id)).toEqual([4, 5]);
    expect(selectPapers(candidates, [1], 3, rules).map((p) => p.id)).toEqual([1, 4, 5]);
  });

  it("when two readers' choices give the same papers for the same reasons, then they share a variant; other reasons, another", () => {
    const sameA = variantKey(selectPapers(candidates, [1], 10, rules));
    const sameB = variantKey(
      selectPapers(
        candidates,
        [1, 9],
        10,
        followRules(parseChoiceKey("1,9|author:Grace Hopper|keyword:diffusion distillation").follows),
      ),
    );
    expect(sameA).toBe(sameB);
    // Same papers, but paper 4 is now there for topic 3 rather than a follow: the email says so.
    const other = variantKey(
      selectPapers(candidates, [1, 3], 10, followRules([{ kind: "author", value: "Grace Hopper" }])),
    );
    expect(other).not.toBe(sameA);
    expect(other.split("#")[0]).toBe(sameA.split("#")[0]);
  });

  it("when a choice key is read back, then topics and follows come out (values may hold colons)", () => {
    expect(parseChoiceKey("|")).toEqual({ topicIds: [], follows: [] });
    expect(parseChoiceKey("2,5|keyword:a: b|author:Ada")).toEqual({
      topicIds: [2, 5],
      follows: [
        { kind: "keyword", value: "a: b" },
        { kind: "author", value: "Ada" },
      ],
    });
  });

  it("then the email's line says why", () => {
    expect(whyLine(["“diffusion distillation”", "Grace Hopper"], ["Robotics"])).toBe(
      "Because you follow “diffusion distillation”, Grace Hopper · in Robotics",
    );
    expect(whyLine([], ["Robotics", "Vision"])).toBe("In Robotics, Vision");
    expect(whyLine([], [])).toBeNull();
  });
});
