import fs from "node:fs";
import path from "node:path";
import { Eta } from "eta";
import { mjml2html } from "../mjml";
import { fromRoot } from "../paths";

/**
 * Renders the confirmation email from templates/emails: Eta fills the MJML (HTML-escaped) and the
 * plain-text part (not escaped: it is text), MJML compiles the HTML. Pure: data in, email out.
 */
export interface ConfirmationEmailData {
  email: string;
  confirmUrl: string;
  topics: string[];
  frequency: "daily" | "weekly";
  ttlHours: number;
  purgeDays: number;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

const templatesDir = fromRoot("templates", "emails");

export function createConfirmationRenderer(dir = templatesDir) {
  const html = new Eta({ autoEscape: true, autoTrim: false });
  const text = new Eta({ autoEscape: false, autoTrim: [false, "nl"] });
  const mjmlTemplate = html.compile(fs.readFileSync(path.join(dir, "confirmation.mjml"), "utf8"));
  const textTemplate = text.compile(fs.readFileSync(path.join(dir, "confirmation.txt"), "utf8"));
  return async function renderConfirmation(data: ConfirmationEmailData): Promise<RenderedEmail> {
    const it = { ...data, frequencyLabel: data.frequency === "weekly" ? "weekly" : "daily" };
    // fonts: {}: no Google Fonts link (MJML adds one for Roboto): the email loads nothing from elsewhere.
    const result = await mjml2html(html.render(mjmlTemplate, it), { validationLevel: "strict", fonts: {} });
    return {
      subject: "Confirm your Daily Papers subscription",
      html: result.html,
      text: text.render(textTemplate, it),
    };
  };
}

export type ConfirmationRenderer = ReturnType<typeof createConfirmationRenderer>;

export interface ReminderEmailData {
  email: string;
  preferencesUrl: string;
}

/** The email an active reader gets when they subscribe again: their preferences link. */
export function createReminderRenderer(dir = templatesDir) {
  const html = new Eta({ autoEscape: true, autoTrim: false });
  const text = new Eta({ autoEscape: false, autoTrim: [false, "nl"] });
  const mjmlTemplate = html.compile(fs.readFileSync(path.join(dir, "reminder.mjml"), "utf8"));
  const textTemplate = text.compile(fs.readFileSync(path.join(dir, "reminder.txt"), "utf8"));
  return async function renderReminder(data: ReminderEmailData): Promise<RenderedEmail> {
    const result = await mjml2html(html.render(mjmlTemplate, data), { validationLevel: "strict", fonts: {} });
    return {
      subject: "You are already subscribed to Daily Papers",
      html: result.html,
      text: text.render(textTemplate, data),
    };
  };
}

export type ReminderRenderer = ReturnType<typeof createReminderRenderer>;
