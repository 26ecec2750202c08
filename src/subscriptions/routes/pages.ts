import type { Request, Response } from "express";
import type { Db, Subscriber } from "../../db";
import { paperListing } from "../../papers";
import { HONEYPOT_FIELD } from "../forms";
import { linkUrls } from "../links";
import { listTopics } from "../topics";
import { currentTopicSlugs } from "../preferences";
import { currentFollows, followsText, MAX_FOLLOW_LENGTH, MAX_FOLLOWS } from "../follows";
import type { Views } from "../../web/views";
import type { Csrf } from "../../web/middleware/csrf";
import type { Tokens } from "../tokens";

/** What the home page's form shows again after a refused post. */
export interface HomeExtras {
  error?: string;
  errorField?: string;
  values?: Partial<{ email: string; topics: string[]; frequency: string }>;
}

/** The two pages more than one route group renders: home (with the form) and preferences. */
export interface Pages {
  home(req: Request, res: Response, status: number, extra?: HomeExtras): Promise<void>;
  preferences(
    req: Request,
    res: Response,
    subscriber: Subscriber,
    notice?: string,
    status?: number,
    typed?: { keywords: string; authors: string },
  ): Promise<void>;
}

export function createPages({ db, tokens, views, csrf }: { db: Db; tokens: Tokens; views: Views; csrf: Csrf }): Pages {
  return {
    async home(req, res, status, extra = {}) {
      const [topics, listing] = await Promise.all([listTopics(db), paperListing(db, { basePath: "/papers" })]);
      res
        .status(status)
        .type("html")
        .send(
          views.render("home", {
            title: "Get trending papers in your email inbox",
            topics,
            listing,
            csrfToken: csrf.token(req, res),
            honeypotField: HONEYPOT_FIELD,
            values: { email: "", topics: [], frequency: "daily", ...extra.values },
            error: extra.error,
            errorField: extra.errorField,
          }),
        );
    },

    async preferences(req, res, subscriber, notice, status = 200, typed) {
      const [topics, chosen, follows] = await Promise.all([
        listTopics(db),
        currentTopicSlugs(db, subscriber.id),
        currentFollows(db, subscriber.id),
      ]);
      const links = linkUrls(tokens, "", subscriber);
      res
        .status(status)
        .type("html")
        .send(
          views.render("preferences", {
            title: "Your Daily Papers preferences",
            subscriber: { email: subscriber.email, status: subscriber.status, frequency: subscriber.frequency },
            topics,
            chosen,
            follows: typed ?? followsText(follows),
            followLimits: { count: MAX_FOLLOWS, length: MAX_FOLLOW_LENGTH },
            notice,
            error: status >= 400,
            action: links.preferences,
            csrfToken: csrf.token(req, res),
          }),
        );
    },
  };
}
