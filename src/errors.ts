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
/** A UUID as PostgreSQL reads one (8-4-4-4-12 hex digits): anything else never reaches a query. */
export const isUuid = (value: unknown): value is string =>
  typeof value === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

export const notFound = (message = "Not found") => new AppError(message, 404, { code: "not_found" });
