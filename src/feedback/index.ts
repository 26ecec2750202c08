/**
 * What the rest of the product uses from feedback (what comes back: bounces, complaints, mailto:
 * unsubscribes): the feature and the inbound role the app starts. The signed return paths every
 * sent email carries live in the mail layer (src/mail/return-path.ts); they are re-exported here
 * for the features that still import them from feedback.
 */
export { feedbackFeature, startInbound, type FeedbackFeatureDeps, type RunningInbound } from "./feature";
export { createReturnPaths, type ReturnPaths } from "../mail/return-path";
export type { HttpsGet } from "./webhooks/ses";
export { createFeedbackBreaker, thresholdsOf } from "./rates";
