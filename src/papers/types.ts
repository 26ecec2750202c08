/** A paper as every source hands it over: already cleaned, cut to size and safe to store. */
export interface NormalizedPaper {
  /** arXiv id without version, e.g. 2401.12345 (the sample source uses `sample-NN`). */
  arxivId: string;
  title: string;
  abstract: string;
  authors: string[];
  /** YYYY-MM-DD the paper appeared on arXiv, when known. */
  arxivDate: string | null;
  /** YYYY-MM-DD the paper was featured (the day it belongs to). */
  featuredOn: string;
  upvotes: number;
  keywords: string[];
  url: string;
  pdfUrl: string | null;
  githubUrl: string | null;
  projectUrl: string | null;
  /** Hugging Face's one-line summary. */
  aiSummary: string | null;
  /** https only (it is shown in emails). */
  thumbnailUrl: string | null;
  githubStars: number | null;
  comments: number | null;
  organization: string | null;
  /** arXiv categories, e.g. ["cs.CL", "cs.LG"] (primary first when known). */
  categories: string[];
  /** Named by a curated daily list (Hugging Face or a file in its shape): its day and link win. */
  curated: boolean;
}

/** A record a source could not use. Reported with the run, never fatal to it. */
export interface SkippedRecord {
  reason: string;
  /** A short excerpt of what was received, for the operator. */
  raw?: string;
}

export interface DayResult {
  papers: NormalizedPaper[];
  skipped: SkippedRecord[];
  /** Why nothing was asked (e.g. a day still in the future for the source), for the log. */
  notice?: string;
}

/** The one narrow interface every paper source implements: "give me the papers featured on day D". */
export interface PaperSource {
  readonly name: string;
  fetchDay(day: string): Promise<DayResult>;
  /**
   * Days this source holds, for bundled sources (sample, file) whose days are fixed: an ingest
   * without a day then takes all of them instead of "today", which they never have.
   */
  availableDays?(): Promise<string[]>;
}

/** A source answered something unusable (not a skipped record: the whole answer). */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly options: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "SourceError";
  }
  get retryable(): boolean {
    return this.options.retryable ?? false;
  }
}
