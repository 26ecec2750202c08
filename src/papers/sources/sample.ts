/**
 * `sample`: the 32 papers of the seed page bundled with the project (sample-papers.json, built by
 * scripts/build-sample-papers.ts from sample-seed.txt), spread over four featured days so the
 * product demonstrates itself offline. The seed page shows no arXiv ids, so these papers carry
 * `sample-NN` ids and link to an arXiv title search rather than to invented ids.
 */
import type { PaperSource } from "../types";
import { jsonFileSource } from "./file";
import { fromRoot } from "../../paths";

export const SAMPLE_PAPERS_FILE = fromRoot("src", "papers", "sources", "sample-papers.json");
export const SAMPLE_ID = /^sample-\d{2,4}$/;

export const sampleLink = (_id: string, title: string) =>
  `https://arxiv.org/search/?searchtype=title&query=${encodeURIComponent(title)}`;

export function sampleSource(file = SAMPLE_PAPERS_FILE): PaperSource {
  return jsonFileSource(file, { name: "sample", extraId: SAMPLE_ID, linkFor: sampleLink });
}
