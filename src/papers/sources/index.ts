import type { PaperSource } from "../types";
import { arxivSource, type ArxivSourceOptions } from "./arxiv";
import { jsonFileSource } from "./file";
import { huggingFaceSource, type HuggingFaceSourceOptions } from "./huggingface";
import { sampleSource } from "./sample";

export interface SourceSettings {
  hf?: HuggingFaceSourceOptions;
  arxiv?: ArxivSourceOptions;
}

/** The source named by PAPERS_SOURCE (or `--source`): huggingface, arxiv, sample or file:PATH. */
export function createPaperSource(spec: string, settings: SourceSettings = {}): PaperSource {
  if (spec === "huggingface") return huggingFaceSource(settings.hf);
  if (spec === "arxiv") return arxivSource(settings.arxiv);
  if (spec === "sample") return sampleSource();
  if (spec.startsWith("file:") && spec.length > 5) return jsonFileSource(spec.slice(5));
  throw new Error(`unknown paper source "${spec}": use huggingface, arxiv, sample or file:PATH`);
}
