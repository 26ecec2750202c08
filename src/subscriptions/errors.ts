import { AppError } from "../errors";

/** Input a person can fix (bad address, unknown topic): 400 with a message meant for them. */
export class InvalidInput extends AppError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message, 400, { code: "invalid_input" });
    this.name = "InvalidInput";
  }
}

/** Why a link did not work, each with the page a reader sees (always 4xx, never a 500). */
export type LinkProblem = "broken" | "expired" | "unknown";

export class LinkError extends AppError {
  constructor(readonly problem: LinkProblem) {
    super(
      problem === "expired"
        ? "This confirmation link has expired."
        : problem === "unknown"
          ? "This link is no longer valid."
          : "This link is broken or incomplete.",
      problem === "expired" ? 410 : problem === "unknown" ? 404 : 400,
      {
        code: `link_${problem}`,
        hint:
          problem === "expired"
            ? "Subscribe again on the home page and we will send you a fresh link."
            : problem === "unknown"
              ? "The subscription it belonged to was changed or deleted. You can subscribe again on the home page."
              : "Check that you copied the whole link from the email, or subscribe again on the home page.",
      },
    );
    this.name = "LinkError";
  }
}
