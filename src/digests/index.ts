/**
 * What the rest of the product uses from the digest engine: the feature the app mounts and the
 * `digest` commands of the command line.
 */
export { digestsFeature, type DigestsDeps } from "./feature";
export { registerDigestCommands } from "./cli";
