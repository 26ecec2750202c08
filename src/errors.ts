/**
 * The one error type of the product. `status` is what an HTTP caller sees, `expose` says whether
 * the message is safe to show, and `hint` tells the reader what to do next.
 */
export class AppError extends Error {
  constructor(
    message: string,
    readonly status = 500,
    readonly options: { expose?: boolean; hint?: string; code?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
  }
  get expose(): boolean {
    return this.options.expose ?? this.status < 500;
  }
  get hint(): string | undefined {
    return this.options.hint;
  }
  get code(): string | undefined {
    return this.options.code;
  }
}

export const badRequest = (message: string, hint?: string) => new AppError(message, 400, { hint, code: "bad_request" });
export const notFound = (message = "Not found") => new AppError(message, 404, { code: "not_found" });
