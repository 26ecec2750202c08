import { z } from "zod";

/**
 * The shapes of what browsers and API callers post, parsed at the edge so the domain only sees
 * typed values. Repeated form fields arrive as arrays, single ones as strings: both are accepted.
 */
const slugList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().trim().max(64)).max(100));

const frequency = z.enum(["daily", "weekly"], { message: "Choose daily or weekly." });

export const HONEYPOT_FIELD = "website";

/** Daily unless the form says weekly. */
const frequencyField = z
  .string()
  .optional()
  .transform((v) => v || "daily")
  .pipe(frequency);

export const subscribeForm = z.object({
  email: z.unknown(),
  topics: slugList,
  frequency: frequencyField,
  /** The honeypot: invisible to people, irresistible to form-filling bots. */
  [HONEYPOT_FIELD]: z.string().optional(),
});
export type SubscribeForm = z.infer<typeof subscribeForm>;

/** A text area of follows, one a line (parsed further by parseFollows). */
const followText = z
  .string({ message: "Follows are text, one a line." })
  .max(4000, { message: "Too much text: at most 20 keywords and authors, one a line." })
  .optional();

export const preferencesForm = z.object({
  action: z.enum(["save", "pause", "resubscribe"]).default("save"),
  topics: slugList,
  frequency: frequencyField,
  keywords: followText,
  authors: followText,
});
export type PreferencesForm = z.infer<typeof preferencesForm>;

/** The first problem, in words a reader can act on. */
export const firstProblem = (error: z.ZodError) => error.issues[0]?.message ?? "The form could not be read.";
