/**
 * Subscriptions: what other parts of the product (CSV import, digests, CLI) may use.
 * Subscribe, confirm, preferences, unsubscribe, erase and export, the consent log, the purge,
 * and the feature that mounts it all.
 */
export { normalizeEmail, type NormalizedEmail } from "./email-address";
export {
  processSubscriptionRequest,
  subscribe,
  CONFIRMATION_RESEND_COOLDOWN_MS,
  type NewSubscription,
  type SubscribeResult,
} from "./subscribe";
export { insertNewSubscribers, type NewSubscriberRow } from "./create";
export { importPeople, importSubscriber, type ImportedPerson } from "./import";
export { createTokens, type Tokens } from "./tokens";
export { SUBSCRIPTION_REQUEST_JOB, REMINDER_JOB, enqueueSubscriptionRequest } from "./subscription-request-job";
export { confirmSubscription } from "./confirm";
export { updatePreferences, resubscribe, currentTopicSlugs } from "./preferences";
export { unsubscribe } from "./unsubscribe";
export { eraseSubscriber, exportSubscriberData } from "./erase";
export { purgeUnconfirmed } from "./purge";
export { recordConsent, emailHash, type RequestContext } from "./consent-log";
export { listTopics, resolveTopicSlugs } from "./topics";
export { linkUrls, resolveLink } from "./links";
export {
  CONFIRMATION_JOB,
  enqueueConfirmation,
  enqueueConfirmations,
  type ConfirmationJobData,
} from "./confirmation-job";
export { subscriptionsFeature, PURGE_PENDING_JOB, type SubscriptionsDeps } from "./feature";
export type { Follow } from "./follows";
