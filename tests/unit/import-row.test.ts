import { parseImportRow } from "../../src/cli/import-row";

const header = ["email", "topics", "frequency", "opted_in", "opted_in_at"];

describe("a subscriber CSV row", () => {
  it("when every column is valid, then the row is typed and normalised", () => {
    expect(parseImportRow(header, [" Ada@Example.ORG ", "nlp; CV nlp", "Weekly", "Yes", "2024-05-31"])).toEqual({
      ok: true,
      row: {
        email: "ada@example.org",
        topics: ["nlp", "cv"],
        frequency: "weekly",
        optedIn: true,
        optedInAt: new Date("2024-05-31"),
      },
    });
  });

  it("when only the email is given, then the person is daily, on every topic, and not opted in", () => {
    expect(parseImportRow(["email"], ["a@example.org"])).toEqual({
      ok: true,
      row: { email: "a@example.org", topics: [], frequency: "daily", optedIn: false, optedInAt: undefined },
    });
  });

  it("when the consent column is called consent, then it counts as opted_in", () => {
    expect(parseImportRow(["email", "consent"], ["a@example.org", "1"])).toMatchObject({
      ok: true,
      row: { optedIn: true },
    });
  });

  it.each([
    [["not-an-address", "", "", "", ""], "email: An email address looks like name@example.org."],
    [["", "", "", "", ""], "email is empty"],
    [["a@example.org", "", "hourly", "", ""], "frequency must be daily or weekly"],
    [["a@example.org", "", "", "perhaps", ""], "opted_in must be yes/no"],
    [["a@example.org", "", "", "no", "2024-01-01"], "opted_in_at is given but opted_in is not yes"],
    [["a@example.org", "", "", "yes", "yesterday"], "opted_in_at is not a date"],
    [["a@example.org", "", "", "yes", "2999-01-01"], "in the future"],
    [["a@example.org", "N/A!", "", "", ""], "is not a topic slug"],
    [["a@example.org", "", "", "", "", "extra"], "has 6 fields but the header has 5"],
  ])("when the fields are %j, then the row is refused: %s", (fields, reason) => {
    const result = parseImportRow(header, fields);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("when the file says the person unsubscribed, then the row is refused rather than mailed", () => {
    expect(parseImportRow(["email", "status", "opted_in"], ["a@example.org", "unsubscribed", "yes"])).toEqual({
      ok: false,
      reason: "status is unsubscribed: people who left are not imported",
    });
  });
});
