/** The worker role alone: start as many of these as you like, on as many machines, against one Redis and one PostgreSQL. */
import { run } from "../src/main";

void run("worker");
