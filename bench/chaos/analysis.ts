/**
 * Judges a chaos run from its evidence alone (worker log lines + injected faults + process exits): what was
 * lost, what was delivered twice and why, whether order held, whether two workers ever processed one shard at
 * once, how fast shards moved after crashes, pauses and graceful stops, how long network partitions stalled
 * shards and whether every partitioned worker came back, whether SIGTERMed workers exited in time, how fast a
 * scale-out balanced, and what the lease table cost. Pure: no I/O, so it is unit-tested with hand-made logs
 * (test/unit/chaos-analysis.test.ts).
 */
import type { RetrievalMode } from '../../src/config/fields.js';
import { FANOUT_DEFAULTS } from '../../src/retrieval/fanout.js';
import { NET_FAULT_KINDS, shardOwners, type ChaosLine, type DeliveredRecord, type Fault, type NetFaultKind } from './log.js';

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
  /** When each worker process exited; without it SIGTERMs are not judged. */
  exits?: readonly { w: string; t: number }[];
  /** When the harness sent SIGTERM to every worker still running, at the end. */
  finalStop?: number;
  /** The workers' shutdown timeout: a SIGTERMed worker must have exited within it. */
  shutdownGraceMillis?: number;
  /** How the workers read (POLLING when absent). */
  retrievalMode?: RetrievalMode;
}

/**
 * How long after its heal a partitioned worker has to show it works again ('Recovery' in analyzeChaos). A fan-out
 * worker may first have to notice that its subscription's connection is dead (half-open): only the event timeout
 * tells it, counted from the last event before the partition, so it gets that much longer.
 */
export function recoveryBoundMillis(failoverMillis: number, retrievalMode: RetrievalMode = 'POLLING'): number {
  return 3 * failoverMillis + 5000 + (retrievalMode === 'FANOUT' ? FANOUT_DEFAULTS.eventTimeoutMillis : 0);
}

/** A process exits a little after its shutdown completes (final log writes, the event loop winding down). */
export const EXIT_SLACK_MILLIS = 1000;

/** The `detail` of the SIGKILL the harness sends a worker still running after its grace (not a fault of the schedule). */
export const KILLED_AFTER_GRACE = 'still running after its shutdown grace';

const earliest = (times: Iterable<number>): number => {
  let min = Infinity;
  for (const t of times) if (t < min) min = t;
  return min;
};

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
  /** duringPartition: one of the two was partitioned then (not an excuse: its own clock stops it; informational). */
  overlaps: { count: number; afterPause: number; duringPartition: number; maxMillis: number; sample: string[] };
  /** A new owner initialized before the old owner's shutdownRequested (graceful hand-off) had finished. */
  startedBeforeHandoff: number;
  /** graceful: from SIGTERM (includes the worker finishing its turn); gracefulGap: from the old processor's end. */
  failover: { crash: FailoverFigures; graceful: FailoverFigures; gracefulGap: Stats; pause: FailoverFigures };
  balanceMillis?: number;
  calls: { calm?: CallFigures; run: CallFigures };
  faultCounts: Record<string, number>;
  network: NetworkFigures;
  shutdowns: ShutdownFigures;
  retrieval: RetrievalFigures;
}

export interface RetrievalFigures {
  mode: RetrievalMode;
  /** Fan-out subscriptions that ended, by outcome. */
  subscriptions: Partial<Record<'completed' | 'shard-end' | 'failed' | 'stopped', number>>;
  /** The failed ones by the error's kind (timeout: no event within the event timeout, in-use: the shard was still held). */
  subscriptionFailures: Record<string, number>;
  /** Kinesis calls by operation over the whole run (from the workers' periodic counters). */
  kinesisCalls: Record<string, number>;
}

export interface NetworkFigures {
  /** Partitions (a partition of several workers counts once). */
  partitions: number;
  byKind: Partial<Record<NetFaultKind, NetKindFigures>>;
  /** One entry per partitioned worker and heal. */
  recoveries: Recovery[];
}

export interface NetKindFigures {
  partitions: number;
  /** How many hit DynamoDB, Kinesis or both ("dynamodb+kinesis"). */
  services: Record<string, number>;
  /**
   * Per shard the partitioned worker was processing at the fault: the longest stretch without a delivery (by
   * anyone) from the fault until the shard's first delivery after the heal.
   */
  shardPause: Stats;
  /** Heal → the partitioned worker's first delivery. */
  recovery: Stats;
}

/**
 * What a partitioned worker did after its heal, within recoveryBoundMillis (stretched by any SIGSTOP in it):
 * processed records; took a lease (but delivered nothing yet); had no share (held nothing while no other worker
 * held more than one shard, so there was nothing to take); was stopped by the harness (SIGKILL, SIGTERM) or
 * partitioned again first; `pending` when the run ended before the bound. Failures: `exited` (the process ended
 * on its own, e.g. a start that gave up) and `stuck`.
 */
export interface Recovery {
  w: string;
  id: number;
  fault: NetFaultKind;
  heal: number;
  status: 'processed' | 'leased' | 'noShare' | 'stopped' | 'partitionedAgain' | 'pending' | 'exited' | 'stuck';
  /** From the heal to the evidence (processed, leased). */
  millis?: number;
}

export interface ShutdownFigures {
  graceMillis?: number;
  /** SIGTERM → exit, for every SIGTERMed worker that was not SIGKILLed by a fault before its grace ran out. */
  exit: Stats;
  overGrace: number;
  sample: string[];
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
  const partitions = partitionIntervals(faults);
  const partitionedBetween = (w: string, from: number, to: number) => partitions.some((p) => p.w === w && p.from <= to && p.to >= from);

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
        const interrupted =
          !before.end || before.end.reason === 'leaseLost' || killedAt.has(before.w) || pausedBetween(before.w, prev.t, cur.t) || partitionedBetween(before.w, prev.t, cur.t);
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
  const overlaps = { count: 0, afterPause: 0, duringPartition: 0, maxMillis: 0, sample: [] as string[] };
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
        // Only a SIGSTOP excuses an overlap: a stopped process cannot look at its clock between the check and the
        // delivery. A partitioned worker runs, and stops delivering once its own clock says the lease may have expired.
        if (pausedBetween(a.w, from - input.failoverMillis, to)) overlaps.afterPause++;
        else if (partitionedBetween(a.w, from - input.failoverMillis, to) || partitionedBetween(b.w, from - input.failoverMillis, to)) overlaps.duringPartition++;
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
  const countedNet = new Set<string>();
  for (const f of faults) {
    if (f.net) {
      if (countedNet.has(`${f.kind}#${f.net.id}`)) continue;
      countedNet.add(`${f.kind}#${f.net.id}`);
    }
    faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
  }

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
    network: networkFigures(input, byShard),
    shutdowns: shutdownFigures(input),
    retrieval: retrievalFigures(input),
  };
}

function retrievalFigures(input: ChaosInput): RetrievalFigures {
  const out: RetrievalFigures = { mode: input.retrievalMode ?? 'POLLING', subscriptions: {}, subscriptionFailures: {}, kinesisCalls: {} };
  for (const l of input.lines) {
    if (l.e !== 'sub') continue;
    out.subscriptions[l.outcome] = (out.subscriptions[l.outcome] ?? 0) + 1;
    if (l.outcome === 'failed') out.subscriptionFailures[l.err ?? 'unknown'] = (out.subscriptionFailures[l.err ?? 'unknown'] ?? 0) + 1;
  }
  out.kinesisCalls = counterDeltas(input.lines, input.run, (l) => l.kinesis);
  return out;
}

interface PartitionInterval {
  w: string;
  id: number;
  fault: NetFaultKind;
  services: string;
  from: number;
  /** The heal; Infinity when none was logged. */
  to: number;
}

function partitionIntervals(faults: readonly Fault[]): PartitionInterval[] {
  const out: PartitionInterval[] = [];
  for (const f of faults) {
    if (f.kind !== 'partition' || !f.w || !f.net) continue;
    const heal = faults.find((h) => h.kind === 'heal' && h.w === f.w && h.net?.id === f.net!.id);
    out.push({ w: f.w, id: f.net.id, fault: f.net.fault, services: f.net.services.join('+'), from: f.t, to: heal?.t ?? Infinity });
  }
  return out;
}

/**
 * Recovery: what each partitioned worker did after its heal (see Recovery). Also used by the harness, with the
 * lines so far and `now` as the run's end, to wait until every heal is judged before stopping the workers.
 */
export function judgeRecoveries(
  lines: readonly ChaosLine[],
  faults: readonly Fault[],
  failoverMillis: number,
  now: number,
  exits: readonly { w: string; t: number }[] = [],
  retrievalMode: RetrievalMode = 'POLLING',
): Recovery[] {
  const bound = recoveryBoundMillis(failoverMillis, retrievalMode);
  const out: Recovery[] = [];
  for (const p of partitionIntervals(faults)) {
    if (p.to === Infinity) continue;
    const heal = p.to;
    const base = { w: p.w, id: p.id, fault: p.fault, heal };
    // A SIGSTOP after the heal delays everything by its length.
    let end = heal + bound;
    for (const f of faults) {
      if (f.kind !== 'stop' || f.w !== p.w || f.t < heal || f.t > end) continue;
      const cont = faults.find((c) => c.kind === 'cont' && c.w === p.w && c.t >= f.t);
      end += (cont?.t ?? now) - f.t;
    }
    const first = (match: (l: ChaosLine) => boolean) => earliest(lines.filter((l) => l.w === p.w && l.t > heal && match(l)).map((l) => l.t));
    const processed = first((l) => l.e === 'recs');
    const leased = first((l) => l.e === 'init' || (l.e === 'lease' && l.kind === 'acquired'));
    // Worker ids are never reused: a SIGTERM or SIGKILL of this worker, even one just before the partition, means
    // it was on its way out and owes no recovery.
    const stopped = earliest(faults.filter((f) => f.w === p.w && (f.kind === 'kill' || f.kind === 'term')).map((f) => f.t));
    const exited = earliest(exits.filter((e) => e.w === p.w && e.t >= p.from).map((e) => e.t));
    const again = earliest(faults.filter((f) => f.kind === 'partition' && f.w === p.w && f.net?.id !== p.id && f.t > heal).map((f) => f.t));
    const evidence = Math.min(processed, leased);
    if (exited < stopped && exited <= Math.min(evidence, end)) out.push({ ...base, status: 'exited' });
    else if (stopped <= Math.min(evidence, end)) out.push({ ...base, status: 'stopped' });
    else if (processed <= end) out.push({ ...base, status: 'processed', millis: processed - heal });
    else if (leased <= end) out.push({ ...base, status: 'leased', millis: leased - heal });
    else if (again <= end) out.push({ ...base, status: 'partitionedAgain' });
    else if (now < end) out.push({ ...base, status: 'pending' });
    else {
      const owners = shardOwners(
        lines.filter((l) => l.t <= end),
        faults.filter((f) => f.t <= end),
      );
      const counts = new Map<string, number>();
      for (const w of owners.values()) counts.set(w, (counts.get(w) ?? 0) + 1);
      const noShare = !counts.has(p.w) && Math.max(0, ...counts.values()) <= 1;
      out.push({ ...base, status: noShare ? 'noShare' : 'stuck' });
    }
  }
  return out;
}

function networkFigures(input: ChaosInput, byShard: Map<string, Session[]>): NetworkFigures {
  const intervals = partitionIntervals(input.faults);
  const recoveries = judgeRecoveries(input.lines, input.faults, input.failoverMillis, input.run.to, input.exits, input.retrievalMode);
  const byKind: NetworkFigures['byKind'] = {};
  for (const kind of NET_FAULT_KINDS) {
    const of = intervals.filter((p) => p.fault === kind);
    if (of.length === 0) continue;
    const ids = new Map<number, string>();
    for (const p of of) ids.set(p.id, p.services);
    const services: Record<string, number> = {};
    for (const sv of ids.values()) services[sv] = (services[sv] ?? 0) + 1;
    const pauses: number[] = [];
    for (const p of of) {
      const shards = new Set<string>();
      for (const list of byShard.values()) {
        for (const s of list) if (s.w === p.w && s.init <= p.from && (!s.end || s.end.t >= p.from)) shards.add(s.shard);
      }
      for (const shard of shards) {
        const times = (byShard.get(shard) ?? [])
          .flatMap((s) => s.deliveries.map((d) => d.t))
          .filter((t) => t > p.from)
          .sort((a, b) => a - b);
        let prev = p.from;
        let longest: number | undefined;
        for (const t of times) {
          longest = Math.max(longest ?? 0, t - prev);
          prev = t;
          if (t > p.to) break;
        }
        if (longest !== undefined) pauses.push(longest);
      }
    }
    const recovered = recoveries.filter((r) => r.fault === kind && r.status === 'processed').map((r) => r.millis!);
    byKind[kind] = { partitions: ids.size, services, shardPause: stats(pauses), recovery: stats(recovered) };
  }
  return { partitions: new Set(intervals.map((p) => p.id)).size, byKind, recoveries };
}

function shutdownFigures(input: ChaosInput): ShutdownFigures {
  const grace = input.shutdownGraceMillis;
  const out: ShutdownFigures = { graceMillis: grace, exit: { count: 0 }, overGrace: 0, sample: [] };
  if (!input.exits) return out;
  const exits = input.exits;
  const terms = new Map<string, number>();
  for (const f of input.faults) if (f.kind === 'term' && f.w && !terms.has(f.w)) terms.set(f.w, f.t);
  if (input.finalStop !== undefined) {
    const started = new Set(input.faults.filter((f) => f.kind === 'start').map((f) => f.w));
    for (const w of started) {
      if (w && !terms.has(w) && !exits.some((e) => e.w === w && e.t < input.finalStop!)) terms.set(w, input.finalStop);
    }
  }
  const times: number[] = [];
  for (const [w, t] of terms) {
    const exit = exits.find((e) => e.w === w && e.t >= t)?.t;
    // A SIGKILL fault before the grace ran out ended the shutdown early: nothing to judge.
    const killed = input.faults.find((f) => f.kind === 'kill' && f.w === w && f.t >= t && f.t <= (exit ?? Infinity) && f.detail !== KILLED_AFTER_GRACE);
    if (killed && (grace === undefined || killed.t - t <= grace)) continue;
    const took = (exit ?? input.run.to) - t;
    times.push(took);
    if (grace !== undefined && (exit === undefined || took > grace + EXIT_SLACK_MILLIS)) {
      out.overGrace++;
      if (out.sample.length < 5) out.sample.push(`${w}: ${exit === undefined ? 'still running' : 'exited'} ${(took / 1000).toFixed(1)} s after SIGTERM`);
    }
  }
  out.exit = stats(times);
  return out;
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

/** What all workers' cumulative counters (picked from their `calls` lines) grew by inside [from, to], by key. */
function counterDeltas(lines: readonly ChaosLine[], window: { from: number; to: number }, pick: (l: Extract<ChaosLine, { e: 'calls' }>) => Record<string, number> | undefined): Record<string, number> {
  const byWorker = new Map<string, { t: number; calls: Record<string, number> }[]>();
  for (const l of lines) {
    const calls = l.e === 'calls' ? pick(l) : undefined;
    if (calls) byWorker.set(l.w, [...(byWorker.get(l.w) ?? []), { t: l.t, calls }]);
  }
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
  return byKind;
}

/** Lease-table calls made by all workers inside [from, to], from their cumulative counters. */
function callFigures(lines: readonly ChaosLine[], window: { from: number; to: number; shards: number; workers: number }, failoverMillis: number): CallFigures {
  const byKind = counterDeltas(lines, window, (l) => flatten(l.calls));
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
const statLine = (s: Stats, what = 'shard moves') => (s.count === 0 ? 'none measured' : `min ${secs(s.min)} / median ${secs(s.median)} / max ${secs(s.max)} (${s.count} ${what})`);

/** The printed summary; the last line is the verdict. */
export function formatChaosReport(r: ChaosReport, failoverMillis: number, runFrom = 0): { lines: string[]; passed: boolean; problems: string[] } {
  const problems: string[] = [];
  if (r.lost > 0) problems.push(`${r.lost} records lost (e.g. ${r.lostSample.join(', ')})`);
  if (r.duplicatesUnexplained > 0) problems.push(`${r.duplicatesUnexplained} duplicates not explained by a crash or pause (${r.unexplainedSample.join('; ')})`);
  if (r.sessionOrderViolations > 0) problems.push(`${r.sessionOrderViolations} out-of-order deliveries within a processor session`);
  if (r.keyOrderViolations > 0) problems.push(`${r.keyOrderViolations} per-key order violations (${r.keyOrderSample.join('; ')})`);
  if (r.overlaps.count > r.overlaps.afterPause) problems.push(`${r.overlaps.count - r.overlaps.afterPause} overlaps not after a pause (${r.overlaps.sample.join('; ')})`);
  if (r.startedBeforeHandoff > 0) problems.push(`${r.startedBeforeHandoff} shards started by a new owner before the old owner's shutdownRequested finished`);
  const bound = recoveryBoundMillis(failoverMillis, r.retrieval.mode);
  const stuck = r.network.recoveries.filter((x) => x.status === 'stuck');
  const relative = (t: number) => secs(t - runFrom);
  const exited = r.network.recoveries.filter((x) => x.status === 'exited');
  if (exited.length > 0) {
    const sample = exited.slice(0, 5).map((x) => `${x.w} after the ${x.fault} at ${relative(x.heal)}`);
    problems.push(`${exited.length} partitioned workers exited on their own instead of recovering (${sample.join('; ')})`);
  }
  if (stuck.length > 0) {
    const sample = stuck.slice(0, 5).map((x) => `${x.w} after the ${x.fault} healed at ${relative(x.heal)}`);
    problems.push(`${stuck.length} partitioned workers stuck: no processing and no lease within ${secs(bound)} of the heal (${sample.join('; ')})`);
  }
  const subscriptions = Object.values(r.retrieval.subscriptions).reduce((a, b) => a + b, 0);
  // A fan-out run that delivered without a single subscription did not test fan-out at all.
  if (r.retrieval.mode === 'FANOUT' && r.deliveredUnique > 0 && subscriptions === 0) problems.push('fan-out was asked for, but no worker logged a subscription');
  if (r.shutdowns.overGrace > 0) problems.push(`${r.shutdowns.overGrace} SIGTERMed workers did not exit within the grace of ${secs(r.shutdowns.graceMillis)} (${r.shutdowns.sample.join('; ')})`);
  const fc = Object.entries(r.faultCounts).map(([k, v]) => `${k} ${v}`).join(', ');
  const c = r.calls;
  const lines = [
    `faults: ${fc || 'none'}`,
    `records: produced ${r.produced}, delivered ${r.deliveredUnique} (${r.deliveries} deliveries), lost ${r.lost}`,
    `duplicates: ${r.duplicates} (${r.duplicatesExplained} after a crash or pause — records past the last checkpoint, redone in ${r.redoEvents} takeovers, at most ${r.maxRedoneRecords} at once; ${r.duplicatesUnexplained} unexplained)`,
    `order: ${r.sessionOrderViolations} violations within ${r.sessions} processor sessions; ${r.keyOrderViolations} per-key violations across sessions and shards`,
    `overlap: ${r.overlaps.count} times two workers processed one shard at once (${r.overlaps.afterPause} after a pause, ${r.overlaps.duringPartition} around a partition, longest ${secs(r.overlaps.maxMillis)}); graceful hand-offs started early: ${r.startedBeforeHandoff}`,
    `failover after SIGKILL: ${statLine(r.failover.crash.all)}; undisturbed ${statLine(r.failover.crash.undisturbed)} (target ≤ ${secs(failoverMillis + 2000)})`,
    `after SIGTERM: shard paused from the old processor's shutdownRequested to the new owner's first record: ${statLine(r.failover.gracefulGap)} (target ≤ 2.0 s${r.retrieval.mode === 'FANOUT' ? ', + ~3 s with fan-out: kinesis-local frees a shard that long after the old subscription ends' : ''}); from the signal: ${statLine(r.failover.graceful.all)}`,
    `failover after SIGSTOP: ${statLine(r.failover.pause.all)}; kept by the paused worker or not moved: ${r.failover.pause.notMoved}`,
    `balance after scale-out: ${r.balanceMillis === undefined ? 'not reached' : secs(r.balanceMillis)}`,
  ];
  for (const [kind, k] of Object.entries(r.network.byKind)) {
    const where = Object.entries(k.services).map(([sv, n]) => `${sv} ${n}`).join(', ');
    lines.push(
      `partition ${kind} (${k.partitions}: ${where}): longest stall of an affected shard ${statLine(k.shardPause, 'shards')}; heal → the worker's first record ${statLine(k.recovery, 'heals')}`,
    );
  }
  if (r.network.recoveries.length > 0) {
    const n = (status: Recovery['status']) => r.network.recoveries.filter((x) => x.status === status).length;
    const processed = stats(r.network.recoveries.filter((x) => x.status === 'processed').map((x) => x.millis!));
    lines.push(
      `after a heal (${r.network.recoveries.length} partitioned workers): processed again ${n('processed')} (${statLine(processed, 'heals')}), took a lease ${n('leased')}, no share ${n('noShare')}, stopped or killed meanwhile ${n('stopped')}, partitioned again ${n('partitionedAgain')}, not judged (run ended) ${n('pending')}; exited on their own ${exited.length}, stuck ${stuck.length} (bound ${secs(bound)})`,
    );
  }
  if (r.shutdowns.exit.count > 0 || r.shutdowns.overGrace > 0) {
    lines.push(`SIGTERM → exit: ${statLine(r.shutdowns.exit, 'workers')}; over the grace of ${secs(r.shutdowns.graceMillis)}: ${r.shutdowns.overGrace}`);
  }
  if (c.calm) {
    lines.push(
      `lease table, steady state: ${c.calm.perShardMinute.toFixed(1)} calls per shard-minute, ${c.calm.perShardMinuteWithoutCheckpoints.toFixed(1)} without checkpoints (Java 2.x model at this failover: ${c.calm.javaModelWithoutCheckpoints?.toFixed(1)} + checkpoints) — ${kinds(c.calm.byKind)}`,
    );
  }
  const failures = kinds(r.retrieval.subscriptionFailures);
  lines.push(
    r.retrieval.mode === 'FANOUT'
      ? `retrieval: enhanced fan-out, ${subscriptions} subscriptions ended (${kinds(r.retrieval.subscriptions) || 'none'}${failures ? `; failed by kind: ${failures}` : ''}); Kinesis calls: ${kinds(r.retrieval.kinesisCalls) || 'none counted'}`
      : `retrieval: polling; Kinesis calls: ${kinds(r.retrieval.kinesisCalls) || 'none counted'}`,
  );
  lines.push(`lease table, whole run: ${c.run.perShardMinute.toFixed(1)} calls per shard-minute, ${c.run.perShardMinuteWithoutCheckpoints.toFixed(1)} without checkpoints — ${kinds(c.run.byKind)}`);
  const extra = [
    ...(r.network.recoveries.length > 0 ? ['every partitioned worker back or stopped'] : []),
    ...(r.shutdowns.exit.count > 0 ? ['every SIGTERM within its grace'] : []),
  ];
  lines.push(
    problems.length === 0
      ? `RESULT: PASS (0 lost, every duplicate explained, order kept, no overlap outside a pause${extra.map((e) => `, ${e}`).join('')})`
      : `RESULT: FAIL: ${problems.join('; ')}`,
  );
  return { lines, passed: problems.length === 0, problems };
}

function kinds(byKind: Record<string, number>): string {
  return Object.entries(byKind)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
