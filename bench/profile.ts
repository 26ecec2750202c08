/**
 * Reads V8 CPU profiles (`node --cpu-prof`) of the worker processes and says where the time
 * went: self time by function and by area (a package in node_modules, a file of ours, GC, idle).
 */
import fs from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Busy time: everything but (idle). */
  busyMs: number;
  byArea: { area: string; ms: number; share: number }[];
  topFunctions: { fn: string; ms: number; share: number }[];
}

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
  if (pkg) return pkg;
  if (url.startsWith("node:")) return url;
  const ours = url.match(/\/(src|workers|bench)\/(.*)$/);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url.replace(/^file:\/\//, "");
}

/** Only samples within [fromMs, toMs] after the profile's start count (the run, not the start-up). */
export function summariseProfiles(files: { file: string; fromMs: number; toMs: number }[], top = 15): ProfileSummary {
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  let totalMs = 0;
  for (const { file, fromMs, toMs } of files) {
    const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const selfUs = new Map<number, number>();
    let at = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      const delta = profile.timeDeltas[i] ?? 0;
      at += delta;
      if (at / 1000 < fromMs || at / 1000 > toMs) continue;
      const id = profile.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
    }
    for (const [id, us] of selfUs) {
      const n = nodes.get(id)!;
      const { functionName, url, lineNumber } = n.callFrame;
      const ms = us / 1000;
      totalMs += ms;
      const area = areaOf(url, functionName);
      byArea.set(area, (byArea.get(area) ?? 0) + ms);
      const key = `${functionName || "(anonymous)"} ${area}:${lineNumber + 1}`;
      byFn.set(key, (byFn.get(key) ?? 0) + ms);
    }
  }
  const idle = byArea.get("(idle)") ?? 0;
  const busyMs = totalMs - idle;
  const sorted = (m: Map<string, number>) =>
    [...m].filter(([k]) => k !== "(idle)" && !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]);
  return {
    totalMs,
    busyMs,
    byArea: sorted(byArea)
      .slice(0, top)
      .map(([area, ms]) => ({ area, ms, share: ms / busyMs })),
    topFunctions: sorted(byFn)
      .slice(0, top)
      .map(([fn, ms]) => ({ fn, ms, share: ms / busyMs })),
  };
}
