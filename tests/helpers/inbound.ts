import fs from "node:fs";
import path from "node:path";
import nodemailer from "nodemailer";

/** A recorded report from tests/fixtures/feedback (see its README for where each comes from). */
export const feedbackFixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, "..", "fixtures", "feedback", name), "utf8");

export interface SmtpOutcome {
  ok: boolean;
  /** The server's answer: 250 on success, the refusal's code otherwise. */
  code: number;
  response: string;
}

/**
 * Sends a raw message to an SMTP server the way a reporting MTA does: null sender (MAIL FROM:<>),
 * no TLS, one recipient. Resolves with the server's answer instead of throwing on a refusal.
 */
export async function deliverReport(port: number, to: string, raw: string, from = ""): Promise<SmtpOutcome> {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
  try {
    const info = (await transport.sendMail({ envelope: { from, to: [to] }, raw })) as { response: string };
    return { ok: true, code: Number(info.response.slice(0, 3)), response: info.response };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: e.responseCode ?? 0, response: e.response ?? e.message };
  } finally {
    transport.close();
  }
}
