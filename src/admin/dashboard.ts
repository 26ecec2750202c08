import type { Router } from "express";
import type { Queue } from "bullmq";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";

/** The BullMQ dashboard (bull-board) over every queue of the product, served under `basePath`. */
export function queueDashboard(queues: Queue[], basePath = "/admin/queues"): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: "Daily Papers queues",
        miscLinks: [
          { text: "Admin", url: "/admin" },
          { text: "Sign out", url: "/admin/logout" },
        ],
      },
    },
  });
  return serverAdapter.getRouter() as Router;
}
