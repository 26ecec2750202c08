/**
 * The headers every newsletter email carries (RFC 2369, RFC 2919, RFC 8058 one-click):
 * List-Unsubscribe with the signed https link (and a mailto: when configured),
 * List-Unsubscribe-Post, and List-Id derived from the site's host.
 */
export function listHeaders(opts: {
  baseUrl: string;
  unsubscribeToken: string;
  mailto?: string;
}): Record<string, string> {
  const host = new URL(opts.baseUrl).hostname;
  const links = [`<${opts.baseUrl}/unsubscribe/${opts.unsubscribeToken}>`];
  if (opts.mailto) links.push(`<mailto:${opts.mailto}?subject=unsubscribe>`);
  return {
    "List-Unsubscribe": links.join(", "),
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    "List-Id": `Daily Papers <daily-papers.${host}>`,
  };
}
