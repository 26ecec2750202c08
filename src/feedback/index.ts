/**
 * What the rest of the product uses from feedback (what comes back: bounces, complaints, mailto:
 * unsubscribes): the feature, the inbound role the app starts, and the rates the send path checks.
 * The signed return paths every sent email carries live in the mail layer (src/mail/return-path.ts).
 */
export { feedbackFeature, startInbound, type FeedbackFeatureDeps, type RunningInbound } from "./feature";
export type { HttpsGet } from "./webhooks/ses";
export { createFeedbackBreaker, thresholdsOf } from "./rates";
