/**
 * Judges a chaos run from its evidence alone (worker log lines + injected faults): what was lost, what was
 * delivered twice and why, whether order held, whether two workers ever processed one shard at once, how fast
 * shards moved after crashes, pauses and graceful stops, how fast a scale-out balanced, and what the lease
 * table cost. Pure: no I/O, so it is unit-tested with hand-made logs (test/unit/chaos-analysis.test.ts).
 */
import type { ChaosLine, DeliveredRecord, Fault } from './log.js';

export interface ChaosInput {
  /** Records 0 … produced−1 were acknowledged by PutRecords. */
  produced: number;
  lines: readonly ChaosLine[];
  faults: readonly Fault[];
  failoverMillis: number;
  /** When the extra workers were started next to the first one, which had taken every shard. */
  scaleOut?: { t: number; workers: readonly string[]; shards: number };
  /** A fault-free window with records flowing, for the steady-state cost. */
  calm?: { from: number; to: number; shards: number; workers: number };
  /** Whole run, for the average cost. */
  run: { from: number; to: number; shards: number };
}

export interface Stats {
  count: number;
  min?: number;
  median?: number;
  max?: number;
}

export interface FailoverFigures {
  /** Every shard the faulted worker held: fault → first record processed by another worker. */
  all: Stats;
  /** Only faults with no other fault on the way (none in the following failover + 5 s). */
  undisturbed: Stats;
  /** Shards never processed elsewhere before the run ended (or still held after a short pause). */
  notMoved: number;
}

export interface ChaosReport {
  produced: number;
  deliveredUnique: number;
  deliveries: number;
  lost: number;
  lostSample: number[];
  duplicates: number;
  duplicatesExplained: number;
  duplicatesUnexplained: number;
  unexplainedSample: string[];
  /** Most records redone after one interruption (one old session → one new session). */
  maxRedoneRecords: number;
  /** How many interruptions caused redone records. */
  redoEvents: number;
  sessions: number;
  sessionOrderViolations: number;
  keyOrderViolations: number;
  keyOrderSample: string[];
  overlaps: { count: number; afterPause: number; maxMillis: number; sample: string[] };
  /** A new owner initialized before the old owner's shutdownRequested (graceful hand-off) had finished. */
  startedBeforeHandoff: number;
  /** graceful: from SIGTERM (includes the worker finishing its turn); gracefulGap: from the old processor's end. */
  failover: { crash: FailoverFigures; graceful: FailoverFigures; gracefulGap: Stats; pause: FailoverFigures };
  balanceMillis?: number;
  calls: { calm?: CallFigures; run: CallFigures };
  faultCounts: Record<string, number>;
}

export interface CallFigures {
  perShardMinute: number;
  /** Same, without checkpoint writes (they depend on the application, and Java makes the same ones). */
  perShardMinuteWithoutCheckpoints: number;
  byKind: Record<string, number>;
  /** Java KCL 2.x at the same failover: renewals every failover/3 − 25 ms per lease, a scan per worker every 2 × (failover + 25 ms). */
  javaModelWithoutCheckpoints?: number;
}

interface Session {
  id: string;
  w: string;
  shard: string;
  init: number;
  end?: { t: number; reason: string };
  checkpoints: { t: number; seq: bigint; sub: number }[];
  deliveries: { t: number; seq: bigint; sub: number }[];
}

function stats(values: number[]): Stats {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1] };
}

function cmp(a: { seq: bigint; sub: number }, b: { seq: bigint; sub: number }): number {
  return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : a.sub - b.sub;
}

const asSeq = (s: string): bigint => (/^\d+$/.test(s) ? BigInt(s) : s === 'SHARD_END' ? 2n ** 200n : -1n);

export function analyzeChaos(input: ChaosInput): ChaosReport {
  const { lines, faults } = input;
  const sessions = new Map<string, Session>();
  const deliveriesOf = new Map<number, { t: number; s: string; seq: bigint; sub: number }[]>();
  const ordered: { t: number; order: number; key: number; keySeq: number; n: number }[] = [];
  let deliveries = 0;
  let order = 0;

  for (const line of lines) {
    if (line.e === 'init') {
      sessions.set(line.s, { id: line.s, w: line.w, shard: line.shard, init: line.t, checkpoints: [], deliveries: [] });
    } else if (line.e === 'recs') {
      const session = sessions.get(line.s);
      for (const [n, key, keySeq, seq, sub] of line.r as DeliveredRecord[]) {
        const d = { t: line.t, s: line.s, seq: BigInt(seq), sub };
        session?.deliveries.push(d);
        const list = deliveriesOf.get(n) ?? [];
        list.push(d);
        deliveriesOf.set(n, list);
        ordered.push({ t: line.t, order: order++, key, keySeq, n });
        deliveries++;
      }
    } else if (line.e === 'cp') {
      sessions.get(line.s)?.checkpoints.push({ t: line.t, seq: asSeq(line.seq), sub: line.sub });
    } else if (line.e === 'end') {
      const session = sessions.get(line.s);
      if (session) session.end = { t: line.t, reason: line.reason };
    }
  }

  const killedAt = new Map<string, number>();
  const pauses = new Map<string, { from: number; to: number }[]>();
  for (const f of faults) {
    if (!f.w) continue;
    if (f.kind === 'kill') killedAt.set(f.w, f.t);
    if (f.kind === 'stop') pauses.set(f.w, [...(pauses.get(f.w) ?? []), { from: f.t, to: Infinity }]);
    if (f.kind === 'cont') {
      const open = pauses.get(f.w)?.find((p) => p.to === Infinity);
      if (open) open.to = f.t;
    }
  }
  const pausedBetween = (w: string, from: number, to: number) => (pauses.get(w) ?? []).some((p) => p.from <= to && p.to >= from);

  // Loss and duplicates.
  const lostList: number[] = [];
  let duplicates = 0;
  let explained = 0;
  const redone = new Map<string, number>();
  const unexplainedSample: string[] = [];
  for (let n = 0; n < input.produced; n++) {
    const list = deliveriesOf.get(n);
    if (!list) {
      lostList.push(n);
      continue;
    }
    list.sort((a, b) => a.t - b.t);
    for (let i = 1; i < list.length; i++) {
      duplicates++;
      const prev = list[i - 1]!;
      const cur = list[i]!;
      const before = sessions.get(prev.s);
      let ok = false;
      if (before && prev.s !== cur.s) {
        const covered = before.checkpoints.some((c) => cmp(c, prev) >= 0);
        const interrupted = !before.end || before.end.reason === 'leaseLost' || killedAt.has(before.w) || pausedBetween(before.w, prev.t, cur.t);
        ok = !covered && interrupted;
        if (ok) redone.set(`${prev.s}>${cur.s}`, (redone.get(`${prev.s}>${cur.s}`) ?? 0) + 1);
      }
      if (ok) explained++;
      else if (unexplainedSample.length < 5) unexplainedSample.push(`record ${n}: first in ${prev.s}, again in ${cur.s}`);
    }
  }

  // Order within each session, and per partition key across sessions and shards (first deliveries only).
  let sessionOrderViolations = 0;
  for (const s of sessions.values()) {
    for (let i = 1; i < s.deliveries.length; i++) if (cmp(s.deliveries[i - 1]!, s.deliveries[i]!) >= 0) sessionOrderViolations++;
  }
  ordered.sort((a, b) => a.t - b.t || a.order - b.order);
  const seen = new Set<number>();
  const maxKeySeq = new Map<number, number>();
  let keyOrderViolations = 0;
  const keyOrderSample: string[] = [];
  for (const d of ordered) {
    if (seen.has(d.n)) continue;
    seen.add(d.n);
    const max = maxKeySeq.get(d.key) ?? -1;
    if (d.keySeq < max) {
      keyOrderViolations++;
      if (keyOrderSample.length < 5) keyOrderSample.push(`key ${d.key}: record #${d.keySeq} after #${max}`);
    }
    maxKeySeq.set(d.key, Math.max(max, d.keySeq));
  }

  // Two workers delivering one shard at the same time.
  const byShard = new Map<string, Session[]>();
  for (const s of sessions.values()) byShard.set(s.shard, [...(byShard.get(s.shard) ?? []), s]);
  for (const list of byShard.values()) list.sort((a, b) => a.init - b.init);
  const overlaps = { count: 0, afterPause: 0, maxMillis: 0, sample: [] as string[] };
  let startedBeforeHandoff = 0;
  for (const list of byShard.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.w === b.w) continue;
        if (a.end?.reason === 'shutdownRequested' && a.end.t > b.init) startedBeforeHandoff++;
        if (a.deliveries.length === 0 || b.deliveries.length === 0) continue;
        const from = Math.max(a.deliveries[0]!.t, b.deliveries[0]!.t);
        const to = Math.min(a.deliveries.at(-1)!.t, b.deliveries.at(-1)!.t);
        if (to <= from) continue;
        overlaps.count++;
        overlaps.maxMillis = Math.max(overlaps.maxMillis, to - from);
        if (pausedBetween(a.w, from - input.failoverMillis, to)) overlaps.afterPause++;
        if (overlaps.sample.length < 5) overlaps.sample.push(`${a.shard}: ${a.id} and ${b.id} for ${(to - from).toFixed(0)} ms`);
      }
    }
  }

  // Failover: for each shard the faulted worker was processing, the first record processed by another worker.
  const faultTimes = faults.filter((f) => f.kind === 'kill' || f.kind === 'stop' || f.kind === 'term').map((f) => f.t);
  const failoverFor = (kind: 'kill' | 'stop' | 'term'): { figures: FailoverFigures; fromRelease: number[] } => {
    const all: number[] = [];
    const undisturbed: number[] = [];
    const fromRelease: number[] = [];
    let notMoved = 0;
    for (const f of faults) {
      if (f.kind !== kind || !f.w) continue;
      const quiet = !faultTimes.some((t) => t > f.t && t <= f.t + input.failoverMillis + 5000);
      for (const s of sessions.values()) {
        if (s.w !== f.w || s.init > f.t || (s.end && s.end.t < f.t) || s.end?.reason === 'shardEnded') continue;
        // After a pause the paused session itself may go on (a short pause keeps the lease): that is "kept".
        const next = (byShard.get(s.shard) ?? [])
          .filter((o) => o.id !== s.id || kind === 'stop')
          .flatMap((o) => o.deliveries.filter((d) => d.t > f.t).map((d) => ({ t: d.t, w: o.w })))
          .sort((a, b) => a.t - b.t)[0];
        if (!next || next.w === f.w) {
          notMoved++;
          continue;
        }
        all.push(next.t - f.t);
        if (quiet) undisturbed.push(next.t - f.t);
        // The pause the shard saw: from the old processor's shutdownRequested (its checkpoint) to the new owner.
        if (kind === 'term' && s.end?.reason === 'shutdownRequested' && s.end.t >= f.t) fromRelease.push(next.t - s.end.t);
      }
    }
    return { figures: { all: stats(all), undisturbed: stats(undisturbed), notMoved }, fromRelease };
  };
  const crash = failoverFor('kill');
  const graceful = failoverFor('term');
  const pause = failoverFor('stop');

  // Balance after scale-out: first moment every shard is processed and the workers' counts differ by ≤ 1.
  let balanceMillis: number | undefined;
  if (input.scaleOut) {
    const { t: t0, workers, shards } = input.scaleOut;
    const owner = new Map<string, string>();
    const events = lines.filter((l) => l.e === 'init' || l.e === 'end').sort((a, b) => a.t - b.t);
    for (const l of events) {
      if (l.e === 'init') owner.set(l.shard, l.w);
      else if (l.e === 'end' && owner.get(l.shard) === l.w) owner.delete(l.shard);
      if (l.t < t0 || owner.size !== shards) continue;
      const counts = workers.map((w) => [...owner.values()].filter((o) => o === w).length);
      if (Math.max(...counts) - Math.min(...counts) <= 1) {
        balanceMillis = l.t - t0;
        break;
      }
    }
  }

  const calls = { calm: input.calm && callFigures(lines, input.calm, input.failoverMillis), run: callFigures(lines, { ...input.run, workers: 0 }, input.failoverMillis) };
  const faultCounts: Record<string, number> = {};
  for (const f of faults) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;

  return {
    produced: input.produced,
    deliveredUnique: deliveriesOf.size,
    deliveries,
    lost: lostList.length,
    lostSample: lostList.slice(0, 10),
    duplicates,
    duplicatesExplained: explained,
    duplicatesUnexplained: duplicates - explained,
    unexplainedSample,
    maxRedoneRecords: Math.max(0, ...redone.values()),
    redoEvents: redone.size,
    sessions: sessions.size,
    sessionOrderViolations,
    keyOrderViolations,
    keyOrderSample,
    overlaps,
    startedBeforeHandoff,
    failover: { crash: crash.figures, graceful: graceful.figures, gracefulGap: stats(graceful.fromRelease), pause: pause.figures },
    balanceMillis,
    calls,
    faultCounts,
  };
}

/**
 * The Java KCL 2.x lease-table calls per shard-minute at a failover time (checkpoints aside): every lease
 * renewed each failover/3 − ε, and each worker scanning each (failover + ε) × 2 (docs/differences-from-java.md, 'Leases and workers').
 */
export function javaLeaseCalls(failoverMillis: number, workers: number, shards: number, epsilonMillis = 25): { calls: number; renewals: number; scans: number } {
  const renewals = 60_000 / (failoverMillis / 3 - epsilonMillis);
  const scans = (workers * (60_000 / ((failoverMillis + epsilonMillis) * 2))) / shards;
  return { calls: renewals + scans, renewals, scans };
}

type Calls = Extract<ChaosLine, { e: 'calls' }>['calls'];

function flatten(c: Calls): Record<string, number> {
  const out: Record<string, number> = { scan: c.scan, get: c.get, put: c.put, delete: c.delete };
  for (const [k, v] of Object.entries(c.updates)) out[k] = v;
  return out;
}

/** Lease-table calls made by all workers inside [from, to], from their cumulative counters. */
function callFigures(lines: readonly ChaosLine[], window: { from: number; to: number; shards: number; workers: number }, failoverMillis: number): CallFigures {
  const byWorker = new Map<string, { t: number; calls: Record<string, number> }[]>();
  for (const l of lines) if (l.e === 'calls') byWorker.set(l.w, [...(byWorker.get(l.w) ?? []), { t: l.t, calls: flatten(l.calls) }]);
  const at = (list: { t: number; calls: Record<string, number> }[], t: number): Record<string, number> => {
    let last: Record<string, number> = {};
    for (const x of list) if (x.t <= t) last = x.calls;
    return last;
  };
  const byKind: Record<string, number> = {};
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.t - b.t);
    const a = at(list, window.from);
    const b = at(list, window.to);
    for (const [k, v] of Object.entries(b)) byKind[k] = (byKind[k] ?? 0) + v - (a[k] ?? 0);
  }
  const total = Object.values(byKind).reduce((x, y) => x + y, 0);
  const shardMinutes = (window.shards * (window.to - window.from)) / 60_000;
  const java = window.workers > 0 ? javaLeaseCalls(failoverMillis, window.workers, window.shards).calls : undefined;
  return {
    perShardMinute: total / shardMinutes,
    perShardMinuteWithoutCheckpoints: (total - (byKind.checkpoint ?? 0)) / shardMinutes,
    byKind,
    javaModelWithoutCheckpoints: java,
  };
}

const secs = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
const statLine = (s: Stats) => (s.count === 0 ? 'none measured' : `min ${secs(s.min)} / median ${secs(s.median)} / max ${secs(s.max)} (${s.count} shard moves)`);

/** The printed summary; the last line is the verdict. */
export function formatChaosReport(r: ChaosReport, failoverMillis: number): { lines: string[]; passed: boolean; problems: string[] } {
  const problems: string[] = [];
  if (r.lost > 0) problems.push(`${r.lost} records lost (e.g. ${r.lostSample.join(', ')})`);
  if (r.duplicatesUnexplained > 0) problems.push(`${r.duplicatesUnexplained} duplicates not explained by a crash or pause (${r.unexplainedSample.join('; ')})`);
  if (r.sessionOrderViolations > 0) problems.push(`${r.sessionOrderViolations} out-of-order deliveries within a processor session`);
  if (r.keyOrderViolations > 0) problems.push(`${r.keyOrderViolations} per-key order violations (${r.keyOrderSample.join('; ')})`);
  if (r.overlaps.count > r.overlaps.afterPause) problems.push(`${r.overlaps.count - r.overlaps.afterPause} overlaps not after a pause (${r.overlaps.sample.join('; ')})`);
  if (r.startedBeforeHandoff > 0) problems.push(`${r.startedBeforeHandoff} shards started by a new owner before the old owner's shutdownRequested finished`);
  const fc = Object.entries(r.faultCounts).map(([k, v]) => `${k} ${v}`).join(', ');
  const c = r.calls;
  const lines = [
    `faults: ${fc || 'none'}`,
    `records: produced ${r.produced}, delivered ${r.deliveredUnique} (${r.deliveries} deliveries), lost ${r.lost}`,
    `duplicates: ${r.duplicates} (${r.duplicatesExplained} after a crash or pause — records past the last checkpoint, redone in ${r.redoEvents} takeovers, at most ${r.maxRedoneRecords} at once; ${r.duplicatesUnexplained} unexplained)`,
    `order: ${r.sessionOrderViolations} violations within ${r.sessions} processor sessions; ${r.keyOrderViolations} per-key violations across sessions and shards`,
    `overlap: ${r.overlaps.count} times two workers processed one shard at once (${r.overlaps.afterPause} after a pause, longest ${secs(r.overlaps.maxMillis)}); graceful hand-offs started early: ${r.startedBeforeHandoff}`,
    `failover after SIGKILL: ${statLine(r.failover.crash.all)}; undisturbed ${statLine(r.failover.crash.undisturbed)} (target ≤ ${secs(failoverMillis + 2000)})`,
    `after SIGTERM: shard paused from the old processor's shutdownRequested to the new owner's first record: ${statLine(r.failover.gracefulGap)} (target ≤ 2.0 s); from the signal: ${statLine(r.failover.graceful.all)}`,
    `failover after SIGSTOP: ${statLine(r.failover.pause.all)}; kept by the paused worker or not moved: ${r.failover.pause.notMoved}`,
    `balance after scale-out: ${r.balanceMillis === undefined ? 'not reached' : secs(r.balanceMillis)}`,
  ];
  if (c.calm) {
    lines.push(
      `lease table, steady state: ${c.calm.perShardMinute.toFixed(1)} calls per shard-minute, ${c.calm.perShardMinuteWithoutCheckpoints.toFixed(1)} without checkpoints (Java 2.x model at this failover: ${c.calm.javaModelWithoutCheckpoints?.toFixed(1)} + checkpoints) — ${kinds(c.calm.byKind)}`,
    );
  }
  lines.push(`lease table, whole run: ${c.run.perShardMinute.toFixed(1)} calls per shard-minute, ${c.run.perShardMinuteWithoutCheckpoints.toFixed(1)} without checkpoints — ${kinds(c.run.byKind)}`);
  lines.push(problems.length === 0 ? 'RESULT: PASS (0 lost, every duplicate explained, order kept, no overlap outside a pause)' : `RESULT: FAIL: ${problems.join('; ')}`);
  return { lines, passed: problems.length === 0, problems };
}

function kinds(byKind: Record<string, number>): string {
  return Object.entries(byKind)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
