import crypto from "node:crypto";

/**
 * Return paths (VERP) and mailto: unsubscribe addresses that name one delivery or one subscriber.
 *
 * Every digest goes out with the envelope sender `bounces+d<delivery id>-<mac>@domain`, every
 * confirmation with `bounces+c<subscriber id>-<mac>@domain`, and List-Unsubscribe's mailto: is
 * `unsubscribe+u<subscriber id>-<mac>@domain`. A report that comes back to such an address is tied
 * to its delivery or subscriber by the address alone: nothing in the report's body is trusted to say
 * who it is about. The MAC (a keyed HMAC, truncated to 64 bits) makes the addresses unforgeable;
 * SECRET_PREVIOUS keeps addresses from before a rotation valid. Ids are base 36 and everything is
 * lower case, because mail systems may fold the case of local parts; the longest local part is
 * 8 + 1 + 25 + 1 + 16 = 51 characters, within RFC 5321's 64.
 */

export type AddressRef = { type: "delivery"; deliveryId: bigint } | { type: "subscriber"; subscriberId: string };

export type InboundAddress =
  /** The bounce address: `ref` when it carried a valid tag; `forged` when it carried an invalid one. */
  | { role: "bounce"; ref?: AddressRef; forged: boolean }
  /** The unsubscribe address: `subscriberId` when it carried a valid tag. */
  | { role: "unsubscribe"; subscriberId?: string; forged: boolean }
  | { role: "unknown" };

export interface ReturnPaths {
  /** The bounce address itself (`bounces@domain`), for DNS and relay set-up. */
  readonly bounceAddress: string;
  readonly unsubscribeAddress?: string;
  forDelivery(deliveryId: bigint): string;
  forConfirmation(subscriberId: string): string;
  /** The per-subscriber address for List-Unsubscribe's mailto:, or undefined when not configured. */
  unsubscribeMailto(subscriberId: string): string | undefined;
  /** What one of our addresses names; `unknown` for every address that is not ours. */
  parse(address: string): InboundAddress;
  /** The signed bounce or unsubscribe addresses found anywhere in a text (headers of a returned message). */
  findSigned(text: string): AddressRef[];
}

const uuidToBase36 = (uuid: string) => BigInt(`0x${uuid.replace(/-/g, "")}`).toString(36);
function base36ToBigInt(text: string): bigint {
  let n = 0n;
  for (const ch of text) n = n * 36n + BigInt(parseInt(ch, 36));
  return n;
}
function base36ToUuid(text: string): string | undefined {
  const hex = base36ToBigInt(text).toString(16);
  if (hex.length > 32) return undefined;
  const h = hex.padStart(32, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function splitAddress(address: string): { local: string; domain: string } | undefined {
  const at = address.lastIndexOf("@");
  if (at <= 0) return undefined;
  return { local: address.slice(0, at).toLowerCase(), domain: address.slice(at + 1).toLowerCase() };
}

const refOf = (tag: string): AddressRef | undefined => {
  if (/^d[0-9a-z]{1,13}$/.test(tag)) return { type: "delivery", deliveryId: base36ToBigInt(tag.slice(1)) };
  if (/^[cu][0-9a-z]{1,25}$/.test(tag)) {
    const subscriberId = base36ToUuid(tag.slice(1));
    return subscriberId ? { type: "subscriber", subscriberId } : undefined;
  }
  return undefined;
};

/**
 * What a tagged local part names, given its tag once verified (undefined: it did not verify).
 * The bounce address takes deliveries and confirmations (`d`, `c`); the unsubscribe address only `u`.
 */
function taggedAddress(role: "bounce" | "unsubscribe", tag: string | undefined): InboundAddress {
  const ref = tag ? refOf(tag) : undefined;
  if (role === "bounce") {
    return ref && !tag!.startsWith("u") ? { role, ref, forged: false } : { role, forged: true };
  }
  return ref?.type === "subscriber" && tag!.startsWith("u")
    ? { role, subscriberId: ref.subscriberId, forged: false }
    : { role, forged: true };
}

export function createReturnPaths(opts: {
  /** e.g. `bounces@bounces.example.org` */
  bounceAddress: string;
  /** e.g. `unsubscribe@example.org` (UNSUBSCRIBE_MAILTO); unset: no mailto: in List-Unsubscribe. */
  unsubscribeAddress?: string;
  secret: string;
  previousSecrets?: string[];
}): ReturnPaths {
  const bounce = splitAddress(opts.bounceAddress);
  if (!bounce) throw new Error(`not an address: ${opts.bounceAddress}`);
  const unsubscribe = opts.unsubscribeAddress ? splitAddress(opts.unsubscribeAddress) : undefined;
  const keys = [opts.secret, ...(opts.previousSecrets ?? [])].map((s) =>
    crypto.createHmac("sha256", s).update("daily-papers return paths v1").digest(),
  );
  const macWith = (key: Buffer, tag: string) => crypto.createHmac("sha256", key).update(tag).digest("hex").slice(0, 16);
  const signTag = (tag: string) => `${tag}-${macWith(keys[0]!, tag)}`;
  const verifyTag = (signed: string): string | undefined => {
    const dash = signed.lastIndexOf("-");
    if (dash <= 0) return undefined;
    const tag = signed.slice(0, dash);
    const given = Buffer.from(signed.slice(dash + 1));
    if (given.length !== 16) return undefined;
    return keys.some((k) => crypto.timingSafeEqual(given, Buffer.from(macWith(k, tag)))) ? tag : undefined;
  };

  const parse = (address: string): InboundAddress => {
    const parts = splitAddress(address.trim().replace(/^<|>$/g, ""));
    if (!parts) return { role: "unknown" };
    for (const [role, base] of [
      ["bounce", bounce],
      ["unsubscribe", unsubscribe],
    ] as const) {
      if (!base || parts.domain !== base.domain) continue;
      if (parts.local === base.local) return { role, forged: false };
      if (!parts.local.startsWith(`${base.local}+`)) continue;
      return taggedAddress(role, verifyTag(parts.local.slice(base.local.length + 1)));
    }
    return { role: "unknown" };
  };

  return {
    bounceAddress: `${bounce.local}@${bounce.domain}`,
    unsubscribeAddress: unsubscribe ? `${unsubscribe.local}@${unsubscribe.domain}` : undefined,
    forDelivery: (deliveryId) => `${bounce.local}+${signTag(`d${deliveryId.toString(36)}`)}@${bounce.domain}`,
    forConfirmation: (subscriberId) => `${bounce.local}+${signTag(`c${uuidToBase36(subscriberId)}`)}@${bounce.domain}`,
    unsubscribeMailto: (subscriberId) =>
      unsubscribe
        ? `${unsubscribe.local}+${signTag(`u${uuidToBase36(subscriberId)}`)}@${unsubscribe.domain}`
        : undefined,
    parse,
    findSigned(text) {
      const found: AddressRef[] = [];
      for (const match of text.matchAll(/[\w.+-]+\+[0-9a-z]+-[0-9a-f]{16}@[\w.-]+/gi)) {
        const parsed = parse(match[0]);
        if (parsed.role === "bounce" && parsed.ref) found.push(parsed.ref);
      }
      return found;
    },
  };
}
