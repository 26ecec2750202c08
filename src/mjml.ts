/**
 * MJML, loaded on first use. Requiring it costs about 65 MB of resident memory, which a process
 * that never renders (the web role, a worker that only sends) should not carry.
 */
import type mjml2htmlType from "mjml";

type Mjml = typeof mjml2htmlType;
let loading: Promise<Mjml> | undefined;

export async function mjml2html(...args: Parameters<Mjml>): Promise<Awaited<ReturnType<Mjml>>> {
  loading ??= import("mjml").then((m) => m.default);
  const render = await loading;
  return render(...args);
}
