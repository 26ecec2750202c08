/**
 * A tiny cookie-keeping HTTP client for integration tests: what a browser does with the site's
 * forms (keep the CSRF cookie, send the hidden `_csrf` field back), without a browser.
 */
export class WebSession {
  private cookies = new Map<string, string>();
  constructor(readonly baseUrl: string) {}

  private remember(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }

  get cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async get(path: string, headers: Record<string, string> = {}) {
    const res = await fetch(this.url(path), { headers: { cookie: this.cookieHeader, ...headers }, redirect: "manual" });
    this.remember(res);
    return { res, html: await res.text() };
  }

  /** Posts a form (urlencoded). Repeated fields: pass an array. */
  async post(
    path: string,
    fields: Record<string, string | string[]>,
    opts: { redirect?: "manual" | "follow"; headers?: Record<string, string> } = {},
  ) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const item of Array.isArray(v) ? v : [v]) body.append(k, item);
    const res = await fetch(this.url(path), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: this.cookieHeader, ...opts.headers },
      body,
      redirect: opts.redirect ?? "manual",
    });
    this.remember(res);
    return { res, text: await res.text() };
  }

  private url(path: string) {
    return path.startsWith("http") ? path : `${this.baseUrl}${path}`;
  }
}

/** The value of the hidden `_csrf` field of the (first) form on a page. */
export function csrfField(html: string): string {
  const m = html.match(/name="_csrf" value="([^"]+)"/);
  if (!m) throw new Error("no _csrf field on the page");
  return m[1]!;
}

/** The first link in an email's text that goes to `path` (e.g. "/confirm/"). */
export function linkIn(text: string, path: string): string {
  const m = text.match(new RegExp(`https?://[^\\s"<>]+${path.replace(/\//g, "\\/")}[\\w.-]+`));
  if (!m) throw new Error(`no ${path} link in:\n${text}`);
  return m[0];
}
