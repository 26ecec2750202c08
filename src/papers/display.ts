/**
 * How a paper reads to a person, the same in the email, the web copy and the listing: one date
 * format, author names (first few, then "et al."), abstracts without LaTeX leftovers, and the
 * links a reader looks for (arXiv, PDF, code, project page). Pure functions, unit-tested.
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_LONG = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const parts = (day: string) => {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return { y, m, d, weekday: new Date(Date.UTC(y, m - 1, d)).getUTCDay() };
};

/** The one short date format: "10 Dec 2025" (dates are days: no time zone applies). */
export function shortDay(day: string): string {
  const { y, m, d } = parts(day);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** The long form of the same format: "Wednesday 10 December 2025". */
export function longDay(day: string): string {
  const { y, m, d, weekday } = parts(day);
  return `${WEEKDAYS[weekday]} ${d} ${MONTHS_LONG[m - 1]} ${y}`;
}

/** A range in the same format, without repeating what both ends share: "4–10 December 2025". */
export function dayRangeLabel(from: string, to: string): string {
  const a = parts(from);
  const b = parts(to);
  if (a.y !== b.y) return `${a.d} ${MONTHS_LONG[a.m - 1]} ${a.y} – ${b.d} ${MONTHS_LONG[b.m - 1]} ${b.y}`;
  if (a.m !== b.m) return `${a.d} ${MONTHS_LONG[a.m - 1]} – ${b.d} ${MONTHS_LONG[b.m - 1]} ${b.y}`;
  return `${a.d}–${b.d} ${MONTHS_LONG[b.m - 1]} ${b.y}`;
}

/** "Ada Lovelace, Alan Turing, Grace Hopper et al." (the first `max`), or "" when none is known. */
export function authorLine(authors: string[], max = 3): string {
  if (authors.length === 0) return "";
  // The bundled sample knows only how many authors a paper has ("Author 1", "Author 2"...).
  if (authors.every((a) => /^Author \d+$/.test(a))) return `${authors.length} author${authors.length === 1 ? "" : "s"}`;
  if (authors.length <= max + 1) return authors.join(", ");
  return `${authors.slice(0, max).join(", ")} et al.`;
}

const GREEK: Record<string, string> = {
  alpha: "α",
  beta: "β",
  gamma: "γ",
  delta: "δ",
  epsilon: "ε",
  varepsilon: "ε",
  theta: "θ",
  lambda: "λ",
  mu: "μ",
  pi: "π",
  sigma: "σ",
  tau: "τ",
  phi: "φ",
  omega: "ω",
  ell: "ℓ",
  infty: "∞",
  sim: "~",
  approx: "≈",
  times: "×",
  cdot: "·",
  leq: "≤",
  le: "≤",
  geq: "≥",
  ge: "≥",
  neq: "≠",
  pm: "±",
  to: "→",
  rightarrow: "→",
  log: "log",
  sqrt: "√",
  mathcal: "",
  mathbf: "",
  mathrm: "",
  mathbb: "",
  text: "",
  textbf: "",
  textit: "",
  emph: "",
  tilde: "",
  widetilde: "",
  hat: "",
  widehat: "",
  scriptstyle: "",
  displaystyle: "",
  textstyle: "",
  left: "",
  right: "",
};

/**
 * Abstracts carry TeX from arXiv: `$O(n^2)$`, `\\textbf{...}`, `{\\raise.17ex\\scriptstyle\\sim}`.
 * Turned into readable text: dollars gone, known commands to their symbol, unknown commands and
 * braces dropped, so no backslash or brace reaches a reader.
 */
export function cleanLatex(text: string): string {
  if (!/[\\$]/.test(text)) return text;
  return (
    text
      // {\raise.17ex\scriptstyle\sim} and friends: spacing commands with their lengths.
      .replace(/\\(?:raise|lower|kern|hspace|vspace|mkern|mskip)\s*\{?-?[\d.]+\s*(?:ex|em|pt|mu)?\}?/g, "")
      .replace(/\\([A-Za-z]+)/g, (_m, name: string) => (name in GREEK ? GREEK[name]! : ""))
      .replace(/\\([%&#_{}$,;:! ])/g, (_m, c: string) => (/[,;:! ]/.test(c) ? " " : c))
      .replace(/(?<!\\)\$\$?/g, "")
      .replace(/\^\{([^{}]*)\}/g, "^$1")
      .replace(/_\{([^{}]*)\}/g, "_$1")
      .replace(/[{}]/g, "")
      .replace(/\s+([,.;:])/g, "$1")
      .replace(/\s{2,}/g, " ")
      .trim()
  );
}

export const arxivUrl = (arxivId: string) =>
  /^\d{4}\.\d{4,5}$|\//.test(arxivId) ? `https://arxiv.org/abs/${arxivId}` : null;

/** A GitHub repository's short name ("owner/repo") for a link text, or the URL when it is not one. */
export function repoName(url: string): string {
  const m = /^https?:\/\/(?:www\.)?github\.com\/([^/]+\/[^/#?]+)/.exec(url);
  return m ? m[1]!.replace(/\.git$/, "") : url;
}

/** 1234 → "1.2k" (as the Hugging Face page shows stars). */
export function compactCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 10_000) return `${(n / 1000).toFixed(1).replace(/\.0$/, "")}k`;
  return `${Math.round(n / 1000)}k`;
}
