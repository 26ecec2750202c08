/**
 * Hard or soft, from an RFC 3463 enhanced status code (`class.subject.detail`).
 *
 * Class 4 is temporary: soft. Class 5 is permanent, but only some permanent failures say the
 * address itself is dead; the others are about the mailbox's state, the receiving system, the
 * network, the content or policy (a block of our IP says nothing about the reader), so they count
 * as soft and become hard only when they repeat (SOFT_BOUNCE_LIMIT in a row):
 *
 * | status | meaning | here |
 * | --- | --- | --- |
 * | 5.0.x | other or undefined (what many MTAs send for "user unknown") | hard |
 * | 5.1.x | addressing: bad mailbox, bad domain, moved | hard |
 * | 5.2.0, 5.2.1, 5.2.3, 5.2.4 | mailbox disabled, message too big for it, list expansion | hard |
 * | 5.5.x | protocol | hard |
 * | 5.2.2 | mailbox full | soft |
 * | 5.3.x, 5.4.x, 5.6.x, 5.7.x | mail system, network and routing, content, security and policy | soft |
 * | 4.x.x | temporary | soft |
 */
export type BounceClass = "hard" | "soft";

const statusPattern = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;

/** The enhanced status code in a Status field or a diagnostic text ("smtp; 550 5.1.1 ..."); a bare 5xx/4xx reply code becomes x.0.0. */
export function extractStatus(...texts: (string | undefined)[]): string | undefined {
  for (const text of texts) {
    const m = text?.match(statusPattern);
    if (m) return `${m[1]}.${m[2]}.${m[3]}`;
  }
  for (const text of texts) {
    const m = text?.match(/\b([45])\d\d\b/);
    if (m) return `${m[1]}.0.0`;
  }
  return undefined;
}

export function classifyStatus(status: string): BounceClass | undefined {
  const m = status.match(/^([245])\.(\d{1,3})\.(\d{1,3})$/);
  if (!m) return undefined;
  const [, klass, subject, detail] = m as unknown as [string, string, string, string];
  if (klass === "2") return undefined;
  if (klass === "4") return "soft";
  if (subject === "0" || subject === "1" || subject === "5") return "hard";
  if (subject === "2") return detail === "2" ? "soft" : "hard";
  return "soft";
}
