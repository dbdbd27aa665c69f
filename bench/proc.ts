/**
 * CPU time of a process and of its descendants, read from /proc, so a benchmark can charge every process a
 * consumer involves (the daemon and its children, a Python child) without their cooperation. Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime, µs. */
  cpuMicros: number;
  comm: string;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone between the listing and the read
  }
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { pid, ppid: Number(fields[1]), cpuMicros: (ticks * 1e6) / TICKS_PER_SECOND, comm };
}

/** One process's CPU time so far (user + system), µs; NaN when it is gone. */
export function processCpuMicros(pid: number): number {
  return readStat(pid)?.cpuMicros ?? Number.NaN;
}

export interface TreeCpu {
  /** The root process's own CPU, µs. */
  ownMicros: number;
  /** Sum over its living descendants, µs. */
  descendantsMicros: number;
  /** Descendants by pid, so a caller can diff two samples per process. */
  byPid: Map<number, { comm: string; cpuMicros: number }>;
}

/** One sample of `root` and every living descendant. */
export function sampleTree(root: number): TreeCpu {
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  const children = new Map<number, number[]>();
  for (const s of stats.values()) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const byPid = new Map<number, { comm: string; cpuMicros: number }>();
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    const s = stats.get(pid)!;
    byPid.set(pid, { comm: s.comm, cpuMicros: s.cpuMicros });
    queue.push(...(children.get(pid) ?? []));
  }
  let descendantsMicros = 0;
  for (const d of byPid.values()) descendantsMicros += d.cpuMicros;
  return { ownMicros: stats.get(root)?.cpuMicros ?? 0, descendantsMicros, byPid };
}

/** CPU spent between two samples: the root's own, and its descendants' (a child born in between counts whole). */
export function cpuBetween(before: TreeCpu, after: TreeCpu): { ownMicros: number; descendantsMicros: number } {
  let descendantsMicros = 0;
  for (const [pid, d] of after.byPid) descendantsMicros += d.cpuMicros - (before.byPid.get(pid)?.cpuMicros ?? 0);
  return { ownMicros: after.ownMicros - before.ownMicros, descendantsMicros };
}
