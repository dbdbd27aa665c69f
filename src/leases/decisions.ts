/**
 * Lease decisions as pure functions: which leases count as expired, which to take, which to steal, when to
 * scan next, whether to renew, whether a retried write landed, and how a hand-off moves on. Inputs are leases,
 * what this worker has observed of their counters, and the time on its own monotonic clock (the scan turns
 * alone also take the wall clock, only to spread the workers' scans); nothing here does I/O, so every rule is
 * tested against scenario tables with a virtual clock.
 *
 * Expiry never compares clocks across machines (see docs/lease-protocol.md, 'Expiry'): a worker remembers when
 * *it* last saw each lease's counter change and calls the lease expired when that is longer ago than the
 * failover time.
 */
import { isShardEnd } from '../checkpoint/sequence.js';
import type { Lease } from './lease.js';

export interface LeaseObservation {
  readonly counter: number;
  /** Local time at which this worker last saw the counter change; undefined = treat as expired. */
  readonly lastChangeAt: number | undefined;
}

export type Observations = ReadonlyMap<string, LeaseObservation>;

/** Folds one table scan into the observations. Leases missing from the scan are forgotten. */
export function observe(previous: Observations, scan: readonly Lease[], now: number): Map<string, LeaseObservation> {
  const next = new Map<string, LeaseObservation>();
  for (const lease of scan) {
    const prev = previous.get(lease.leaseKey);
    if (prev === undefined) {
      // A lease seen for the first time: an owned one is assumed freshly renewed, an unowned one is free now.
      next.set(lease.leaseKey, { counter: lease.leaseCounter, lastChangeAt: lease.leaseOwner ? now : undefined });
    } else if (prev.counter !== lease.leaseCounter) {
      next.set(lease.leaseKey, { counter: lease.leaseCounter, lastChangeAt: now });
    } else {
      next.set(lease.leaseKey, prev);
    }
  }
  return next;
}

const ONE_YEAR = 365 * 24 * 3600 * 1000;

/** Available = no owner, never seen change, or unchanged for longer than the failover time. */
export function isAvailable(lease: Lease, observation: LeaseObservation | undefined, now: number, failoverMillis: number): boolean {
  if (!lease.leaseOwner) return true;
  if (observation?.lastChangeAt === undefined) return true;
  const age = now - observation.lastChangeAt;
  // An age beyond a year either way means the clock jumped: do not trust it.
  return age > failoverMillis || age < -ONE_YEAR;
}

/** When a lease owned by someone else will become available if its counter stays still; undefined if never. */
export function expiresAt(lease: Lease, observation: LeaseObservation | undefined, failoverMillis: number): number | undefined {
  if (!lease.leaseOwner || observation?.lastChangeAt === undefined) return undefined;
  return observation.lastChangeAt + failoverMillis;
}

export interface TakeInput {
  readonly leases: readonly Lease[];
  readonly observations: Observations;
  readonly workerId: string;
  readonly now: number;
  readonly failoverMillis: number;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
  /** Leases this worker holds in memory right now (never taken again). */
  readonly held: ReadonlySet<string>;
  /** Random choice is an input so decisions are reproducible in tests. */
  readonly shuffle: <T>(items: readonly T[]) => T[];
}

export interface TakeDecision {
  readonly take: readonly Lease[];
  readonly steal: readonly Lease[];
  readonly target: number;
  readonly numWorkers: number;
  readonly mine: number;
}

/**
 * The 2.x taker (see docs/lease-protocol.md, 'Taking and stealing'): aim for a fair share, ceil(leases / workers), take available leases
 * first, and only when none are available steal from the single most loaded worker. Leases already at
 * SHARD_END have nothing left to process, so they are neither taken nor counted (the Java KCL counts them,
 * which is the "lease spillover" its users complain about).
 */
export function decideLeasesToTake(input: TakeInput): TakeDecision {
  const { workerId, now, failoverMillis } = input;
  const active = input.leases.filter((l) => !isShardEnd(l.checkpoint));
  const available: Lease[] = [];
  const counts = new Map<string, Lease[]>();
  for (const lease of active) {
    const held = input.held.has(lease.leaseKey);
    // A lease the table says is ours but that we do not hold is left from an earlier run with the same worker
    // id: nobody else renews it, so take it back at once instead of waiting for it to expire (as Java does).
    // Not while a hand-off to us is pending (checkpointOwner set): the old owner is still checkpointing it.
    const orphanedOwn = lease.leaseOwner === workerId && !held && !lease.checkpointOwner;
    if (!held && (orphanedOwn || isAvailable(lease, input.observations.get(lease.leaseKey), now, failoverMillis))) {
      available.push(lease);
    } else if (held || lease.leaseOwner) {
      const owner = held ? workerId : (lease.leaseOwner as string);
      const list = counts.get(owner) ?? [];
      list.push(lease);
      counts.set(owner, list);
    }
  }
  if (!counts.has(workerId)) counts.set(workerId, []);
  const numWorkers = counts.size;
  let target = numWorkers >= active.length ? 1 : Math.ceil(active.length / numWorkers);
  target = Math.min(target, input.maxLeasesForWorker);
  const mine = counts.get(workerId)?.length ?? 0;
  const needed = target - mine;
  const none = { take: [], steal: [], target, numWorkers, mine };
  if (active.length === 0 || mine >= input.maxLeasesForWorker) return none;
  if (needed <= 0 && !available.some((l) => l.leaseCounter > 0)) return none;

  if (available.length > 0) {
    // Leases that someone held before (expired, or released at a graceful shutdown) are shards whose
    // processing stopped: the first worker to notice takes all of them (up to maxLeasesForWorker), so
    // failover does not wait for every other worker's next scan; balancing then moves the surplus with
    // graceful hand-offs. Never-held leases (a new stream or new shards) are shared out by fair share.
    const orphaned = available.filter((l) => l.leaseCounter > 0);
    const fresh = available.filter((l) => l.leaseCounter === 0);
    const room = input.maxLeasesForWorker - mine;
    const take = input.shuffle(orphaned).slice(0, Math.max(0, room));
    const freshWanted = Math.max(0, needed - take.length);
    return { ...none, take: [...take, ...input.shuffle(fresh).slice(0, freshWanted)] };
  }

  if (needed <= 0) return none;
  let victim: string | undefined;
  let victimCount = 0;
  for (const [owner, leases] of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (owner !== workerId && leases.length > victimCount) {
      victim = owner;
      victimCount = leases.length;
    }
  }
  if (victim === undefined) return none;
  let n = Math.min(needed, victimCount - target);
  if (n <= 0 && needed > 1 && victimCount === target) n = 1;
  n = Math.min(n, input.maxLeasesToStealAtOneTime);
  if (n <= 0) return none;
  // A lease already being handed to the victim cannot be handed on until that hand-off completes.
  const stealable = (counts.get(victim) ?? []).filter((l) => !l.checkpointOwner);
  return { ...none, steal: input.shuffle(stealable).slice(0, n) };
}

/** Fisher–Yates with an injected random source. */
export function shuffleWith(random: () => number): <T>(items: readonly T[]) => T[] {
  return <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };
}

export interface ScanScheduleInput {
  /** Worker ids seen alive in the last scan (owners of unexpired leases), this worker included. */
  readonly workers: readonly string[];
  readonly workerId: string;
  /** Wall-clock epoch milliseconds: only used to spread the workers' scans, never to judge a lease. */
  readonly wallNow: number;
  /** Wanted time between two scans by anyone in the fleet. */
  readonly fleetGapMillis: number;
  /** The longest a worker waits between two scans. */
  readonly maxIntervalMillis: number;
  /** How often a worker with no live peer scans (default maxIntervalMillis). */
  readonly aloneIntervalMillis?: number;
}

/**
 * When this worker scans next (see docs/lease-protocol.md, 'Scan turns'). A crashed worker's leases are noticed by whoever scans first after the crash,
 * and a released lease is picked up at the next scan by anyone, so what matters is how often *the fleet*
 * scans, not each worker. Workers take turns: with W workers each scans every W × gap, in the slot given by its
 * rank among the sorted worker ids (on the wall clock, which only needs to be roughly in sync for the spread),
 * so the fleet scans about once per gap however many workers there are — and never less often than
 * each worker every maxInterval. A worker alone has nobody to fail over from and scans every aloneInterval.
 */
export function nextScanDelay(input: ScanScheduleInput): number {
  const turns = turnsOf(input);
  if (!turns) return input.aloneIntervalMillis ?? input.maxIntervalMillis;
  let delay = turns.delayTo(input.workerId);
  // Just past our slot (the scan itself took a moment): the next turn is a whole period away.
  if (delay < turns.period / (2 * turns.workers.length)) delay += turns.period;
  return delay;
}

/**
 * How long until the next turn of any *other* worker (undefined when there is none). A worker shutting down
 * gracefully keeps processing until just before then, so the lease it releases is picked up at once instead of
 * waiting out its own (now empty) turn.
 */
export function nextPeerScanDelay(input: ScanScheduleInput): number | undefined {
  const turns = turnsOf(input);
  if (!turns) return undefined;
  return Math.min(...turns.workers.filter((w) => w !== input.workerId).map((w) => turns.delayTo(w)));
}

/** The turn schedule: every worker's slot in a period of W × gap (capped), by rank; undefined when alone. */
function turnsOf(input: ScanScheduleInput): { workers: string[]; period: number; delayTo: (worker: string) => number } | undefined {
  const workers = [...new Set([...input.workers, input.workerId])].sort();
  if (workers.length <= 1) return undefined;
  const period = Math.min(workers.length * input.fleetGapMillis, input.maxIntervalMillis);
  const delayTo = (worker: string) => {
    const slot = (workers.indexOf(worker) * period) / workers.length;
    return (((slot - input.wallNow) % period) + period) % period;
  };
  return { workers, period, delayTo };
}

export interface TakerWakeInput {
  /** This worker's next scan turn (nextScanDelay). */
  readonly turnDelayMillis: number;
  /** Leases taken or asked for in this cycle. */
  readonly moved: number;
  /** The cycle stopped taking with leases of its decision left (its scan grew old: see takesWhileFresh). */
  readonly unfinished?: boolean;
  readonly renewIntervalMillis: number;
  readonly leases: readonly Lease[];
  readonly observations: Observations;
  readonly workerId: string;
  /** When the scan was read, and now (after the takes): both on this worker's monotonic clock. */
  readonly scanAt: number;
  readonly now: number;
  readonly failoverMillis: number;
  readonly epsilonMillis: number;
}

/** Takes one turn has in flight at once: a take is one small write, so a turn of many takes is bound by latency. */
export const PARALLEL_TAKES = 8;

/** The longest a turn goes on starting takes on one scan, whatever the failover time. */
export const TAKE_TURN_MAX_MILLIS = 2_000;

/**
 * Until when (this worker's monotonic clock) a turn may go on starting takes: while its scan is younger than half
 * a renewal period, and at most TAKE_TURN_MAX_MILLIS, counted from the answer. The decision was made on that scan;
 * at 10,000 leases a turn that took everything it decided would run for minutes on a view that no longer holds —
 * in particular, workers that start together each see nobody else and decide to take every lease. Stopping early
 * lets the next scan (within a second: see nextTakerDelay) count the other workers' new leases and recompute the
 * share. The view goes stale as fast as the other workers take, which does not depend on the failover time, hence
 * the cap: with a long failover, half a renewal period is long enough for the first worker to take well over its
 * share, which the others then win back one steal per turn. The first PARALLEL_TAKES takes always start, so a slow
 * scan never stops a turn from making progress.
 */
export function takesWhileFresh(scanAnsweredAt: number, renewIntervalMillis: number): number {
  return scanAnsweredAt + Math.min(renewIntervalMillis / 2, TAKE_TURN_MAX_MILLIS);
}

/** After a successful take or steal, the next scan comes this soon (or after one renewal period, if shorter). */
export const FOLLOW_UP_SCAN_MILLIS = 1000;

/**
 * How long the taker sleeps after a cycle: until its next turn, sooner after a move or when a foreign lease is
 * due to expire (so failover does not wait for a whole extra turn).
 */
export function nextTakerDelay(input: TakerWakeInput): number {
  let next = input.turnDelayMillis;
  // While this worker is still moving toward its share, look again soon instead of at its next turn:
  // stealing one lease per 20 s cycle is the slow rebalancing Java users complain about. A turn that stopped
  // with takes left (even if none landed) is followed up the same way: the rest waits for a fresh scan.
  if (input.moved > 0 || input.unfinished) next = Math.min(next, input.renewIntervalMillis, FOLLOW_UP_SCAN_MILLIS);
  for (const lease of input.leases) {
    if (lease.leaseOwner === input.workerId || isShardEnd(lease.checkpoint)) continue;
    const at = expiresAt(lease, input.observations.get(lease.leaseKey), input.failoverMillis);
    // Only a lease still to expire: one already expired and left (we are at our share) needs no wake-up.
    if (at !== undefined && at > input.scanAt) next = Math.min(next, Math.max(at - input.now, 0) + input.epsilonMillis + 1);
  }
  return next;
}

/** The workers whose turns make up the scan schedule: this one and the owners of leases that have not expired. */
export function aliveWorkers(leases: readonly Lease[], observations: Observations, workerId: string, now: number, failoverMillis: number): string[] {
  const alive = new Set<string>([workerId]);
  for (const lease of leases) {
    if (lease.leaseOwner && !isAvailable(lease, observations.get(lease.leaseKey), now, failoverMillis)) alive.add(lease.leaseOwner);
  }
  return [...alive];
}

export type RenewalAction = 'renew' | 'skip' | 'drop';

/**
 * What the renewer does with a held lease (see docs/lease-protocol.md, 'Renewal'), from the time since the
 * last write that proved we hold it. A checkpoint within the last half period already raised the counter,
 * which is all a renewal does, so busy shards cost no renewals ('skip'); skipping leaves at most 1.5 periods
 * since the last write, so at least two renewal attempts (Java's fixed schedule: three) still come before the
 * lease could expire. Past the failover time another worker may already hold it: never renew what our own
 * clock calls expired ('drop').
 */
export function renewalAction(sinceLastWriteMillis: number, renewIntervalMillis: number, failoverMillis: number): RenewalAction {
  if (sinceLastWriteMillis < renewIntervalMillis / 2) return 'skip';
  if (sinceLastWriteMillis > failoverMillis) return 'drop';
  return 'renew';
}

/**
 * A fenced write failed its condition, yet the item shows the counter one above ours with the owners as we
 * left them (also during a hand-off): an earlier attempt of the same write landed, and we still hold it.
 */
export function retriedWriteLanded(held: Lease, current: Lease | undefined): boolean {
  return (
    current !== undefined &&
    current.leaseCounter === held.leaseCounter + 1 &&
    current.leaseOwner === held.leaseOwner &&
    current.checkpointOwner === held.checkpointOwner
  );
}

/**
 * The item shows another worker as leaseOwner and us as checkpointOwner, on the counter we hold: another
 * worker asked for this lease (see docs/lease-protocol.md, 'Graceful hand-off').
 */
export function isHandoffRequest(current: Lease | undefined, held: Lease, workerId: string): boolean {
  return (
    current !== undefined &&
    current.checkpointOwner === workerId &&
    current.leaseOwner !== undefined &&
    current.leaseOwner !== workerId &&
    current.leaseCounter === held.leaseCounter
  );
}

/** A hand-off this worker requested and is waiting for, as the requester sees it. */
export interface RequestedHandoff {
  /** The holder that has to finish first. */
  readonly from: string;
  /** Local time the request was sent. */
  readonly requestedAt: number;
  /** The lease counter last read, and the local time it was last seen to change. */
  readonly counter: number;
  readonly lastChangeAt: number;
}

export type RequesterStep =
  /** The lease moved elsewhere (or was deleted): forget the request. */
  | { readonly kind: 'forget' }
  /** The holder completed the hand-off (checkpointOwner cleared): take it. */
  | { readonly kind: 'take' }
  /** The holder stopped renewing, or the hand-off is overdue: take it anyway (a take clears checkpointOwner). */
  | { readonly kind: 'take-over'; readonly reason: 'owner stopped renewing' | 'timed out' }
  /** Still finishing: keep waiting, with the counter observation brought up to date. */
  | { readonly kind: 'wait'; readonly handoff: RequestedHandoff };

/**
 * One read of a lease this worker is waiting for, judged. The holder is silent when the counter has not moved
 * for longer than the failover time; the hand-off is overdue after the holder's timeout plus the failover time
 * (the holder forces it at its timeout; the failover time covers its last renewal).
 */
export function requesterStep(
  handoff: RequestedHandoff,
  lease: Lease | undefined,
  workerId: string,
  readAt: number,
  failoverMillis: number,
  handoffTimeoutMillis: number,
): RequesterStep {
  if (!lease || lease.leaseOwner !== workerId) return { kind: 'forget' };
  if (!lease.checkpointOwner) return { kind: 'take' };
  const observed = lease.leaseCounter !== handoff.counter ? { ...handoff, counter: lease.leaseCounter, lastChangeAt: readAt } : handoff;
  if (readAt - observed.lastChangeAt > failoverMillis) return { kind: 'take-over', reason: 'owner stopped renewing' };
  if (readAt - observed.requestedAt > handoffTimeoutMillis + failoverMillis) return { kind: 'take-over', reason: 'timed out' };
  return { kind: 'wait', handoff: observed };
}
