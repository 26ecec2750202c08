/**
 * What the rest of the product uses from feedback (what comes back: bounces, complaints, mailto:
 * unsubscribes): the feature and the inbound role the app starts, and the signed return paths
 * every sent email carries.
 */
export { feedbackFeature, startInbound, type FeedbackFeatureDeps, type RunningInbound } from "./feature";
export { createReturnPaths, type ReturnPaths } from "./return-path";
export type { HttpsGet } from "./webhooks/ses";
export { createFeedbackBreaker, thresholdsOf } from "./rates";
