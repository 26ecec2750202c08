/**
 * What the rest of the product uses from the admin area: the feature the app mounts (with the
 * Redis record of signed-out sessions), the constant-time bearer check, and the subscriber statuses.
 */
export { adminFeature, type AdminDeps, type AdminOptions } from "./feature";
export { bearerToken, redisRevokedSessions, sameSecret } from "./auth";
export { subscriberStatuses } from "./queries";
