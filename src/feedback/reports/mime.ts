/**
 * Just enough MIME to read reports (RFC 3464 DSNs, RFC 5965 ARF, mailto: unsubscribe messages):
 * header fields (unfolded, names lower-cased), multipart bodies split into parts, base64 and
 * quoted-printable decoded. Reports are machine-written and small; what this does not understand
 * is left as text, never thrown at.
 */
export interface MimePart {
  headers: Map<string, string[]>;
  /** The part's media type, lower-cased, without parameters ("text/plain" when absent). */
  type: string;
  params: Map<string, string>;
  /** The decoded body (for multiparts: the preamble). */
  body: string;
  parts: MimePart[];
}

export const header = (part: Pick<MimePart, "headers">, name: string) => part.headers.get(name.toLowerCase())?.[0];

/** Header fields of a block of text (stops at the first empty line). */
export function parseFields(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (!current) return;
    const list = fields.get(current.name) ?? [];
    list.push(current.value.trim());
    fields.set(current.name, list);
    current = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line === "") break;
    if (/^[ \t]/.test(line) && current) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    if (colon > 0) current = { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) };
  }
  flush();
  return fields;
}

/** Groups of fields separated by empty lines (the body of message/delivery-status). */
export function parseFieldGroups(text: string): Map<string, string[]>[] {
  return text
    .replace(/\r\n/g, "\n")
    .split(/\n[ \t]*\n/)
    .map((block) => parseFields(block.replace(/^\n+/, "")))
    .filter((group) => group.size > 0);
}

function parseContentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const [type, ...rest] = (value ?? "text/plain").split(";");
  for (const param of rest) {
    const eq = param.indexOf("=");
    if (eq < 0) continue;
    params.set(
      param.slice(0, eq).trim().toLowerCase(),
      param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1"),
    );
  }
  return { type: (type ?? "text/plain").trim().toLowerCase() || "text/plain", params };
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? "").trim().toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    case "quoted-printable":
      return Buffer.from(
        body
          .replace(/=\r?\n/g, "")
          .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        "latin1",
      ).toString("utf8");
    default:
      return body;
  }
}

export function parseMime(raw: string, depth = 0): MimePart {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.search(/\n\n/);
  const head = split < 0 ? text : text.slice(0, split);
  const rawBody = split < 0 ? "" : text.slice(split + 2);
  const headers = parseFields(head);
  const { type, params } = parseContentType(headers.get("content-type")?.[0]);
  const part: MimePart = { headers, type, params, body: rawBody, parts: [] };
  const boundary = params.get("boundary");
  if (type.startsWith("multipart/") && boundary && depth < 5) {
    const chunks = rawBody.split(
      new RegExp(`^--${boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:--)?[ \\t]*$`, "m"),
    );
    part.body = chunks[0] ?? "";
    // The chunk after the closing delimiter is the epilogue: not a part.
    const closed = new RegExp(`^--${boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}--`, "m").test(rawBody);
    const inner = chunks.slice(1, closed ? -1 : undefined);
    part.parts = inner.map((chunk) => parseMime(chunk.replace(/^\n/, ""), depth + 1));
  } else {
    part.body = decodeBody(rawBody, headers.get("content-transfer-encoding")?.[0]);
  }
  return part;
}

/** Every part of a tree, depth first (the root included). */
export function allParts(root: MimePart): MimePart[] {
  return [root, ...root.parts.flatMap(allParts)];
}

/** The addr-spec of an address field: `Name <a@b>` → `a@b`; `rfc822; a@b` → `a@b`. */
export function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const angle = value.match(/<([^<>\s]+@[^<>\s]+)>/);
  if (angle) return angle[1];
  const plain = value.replace(/^[\w-]+;\s*/, "").match(/[^\s<>;,"()]+@[^\s<>;,"()]+/);
  return plain?.[0];
}
