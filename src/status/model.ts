/**
 * The status snapshot (types.ts) of one worker, built from its event stream only: `leases.scanned` for every
 * worker's leases and which workers are alive, this worker's own lease events for what it holds and its moves,
 * `records.delivered` for per-shard counts, rates and lag, and the failure events for recent errors.
 *
 * Memory is bounded: a fixed ring of rate samples per shard (shards leave with their lease), a bounded list of
 * moves, of errors and of workers remembered after they were last seen alive. No timer: rates are bucketed by
 * the clock's time when records arrive and when a snapshot is taken.
 */
import { compareSequenceNumbers, formatSequenceNumber, isShardEnd, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { Clock } from '../common/clock.js';
import type { KclEventStream, LeaseView } from '../common/events.js';
import { acquiredMoveKind, listenAll, releasedMoveKind } from './event-helpers.js';
import type { LeaseMove, ShardStatus, ShardStatusState, StatusError, StatusSnapshot, WorkerStatus } from './types.js';

export interface StatusModelOptions {
  readonly application: string;
  readonly stream: string;
  readonly workerId: string;
  readonly retrievalMode: StatusSnapshot['retrievalMode'];
  readonly clock: Clock;
  /** Seconds per rate sample. Default 5. */
  readonly sampleSeconds?: number;
  /** Rate samples kept per shard (the chart's width). Default 60: five minutes at 5 s. */
  readonly samples?: number;
  /** Moves and errors kept, each. Default 50. */
  readonly recentLimit?: number;
  /** How long a worker no longer seen alive stays listed (as not alive) once it holds no lease. Default 10 min. */
  readonly goneWorkerMillis?: number;
}

/** At most this many workers are listed; the ones seen alive longest ago go first. */
const MAX_WORKERS = 500;
/** Error messages are cut to this length: the page shows a line, the log has the rest. */
const MAX_MESSAGE = 500;

/** This worker's deliveries of one shard. */
interface ShardCounts {
  records: number;
  lastRecordAt?: string;
  /** Records per sample bucket: slot `b % size` holds bucket `b` when `buckets[slot] === b`. */
  readonly counts: number[];
  readonly buckets: number[];
}

/** A lease this worker holds, as its own events tell. */
interface HeldShard {
  /** The bucket it was acquired in: its chart starts there. */
  readonly since: number;
  initialized: boolean;
  ended: boolean;
  handoffTo?: string;
  millisBehindLatest?: number;
}

export class StatusModel {
  private readonly sampleMillis: number;
  private readonly size: number;
  private readonly recentLimit: number;
  private readonly goneWorkerMillis: number;
  private readonly unsubscribe: () => void;
  /** The latest scan: every lease as it was read. */
  private scan: ReadonlyMap<string, LeaseView> = new Map();
  private scannedAt: string | undefined;
  private alive: readonly string[] = [];
  /** Workers ever seen alive, with when they last were (clock time), for listing the ones that are gone. */
  private readonly lastSeenAlive = new Map<string, number>();
  private readonly held = new Map<string, HeldShard>();
  private readonly counts = new Map<string, ShardCounts>();
  /** Checkpoints this worker wrote: newer than the scan until the next scan reads them back. */
  private readonly written = new Map<string, ExtendedSequenceNumber>();
  /** Hand-offs this worker asked for (lease → current holder), until it gets the lease or the scan shows none. */
  private readonly requested = new Map<string, string>();
  /** Where a lease went when this worker gave it up (undefined: nobody yet): the scan may still name us. */
  private readonly leftTo = new Map<string, string | undefined>();
  private readonly moves: LeaseMove[] = [];
  private readonly errors: StatusError[] = [];

  constructor(
    events: KclEventStream,
    private readonly options: StatusModelOptions,
  ) {
    this.sampleMillis = (options.sampleSeconds ?? 5) * 1000;
    // One slot more than the samples shown: the current, still filling bucket.
    this.size = (options.samples ?? 60) + 1;
    this.recentLimit = options.recentLimit ?? 50;
    this.goneWorkerMillis = options.goneWorkerMillis ?? 600_000;
    const self = options.workerId;
    this.lastSeenAlive.set(self, options.clock.now());
    this.unsubscribe = listenAll(events, {
      'leases.scanned': ({ leases, workers }) => this.onScan(leases, workers),
      'lease.acquired': ({ leaseKey, stolenFrom }) => {
        // Not the scan's owner alone: a lease we handed off since the last scan was the receiver's (see owner()).
        const from = stolenFrom ?? this.owner(leaseKey);
        this.move({ leaseKey, kind: acquiredMoveKind(stolenFrom, this.alive), from: from === self ? undefined : from, to: self });
        this.held.set(leaseKey, { since: this.bucket(), initialized: false, ended: false });
        this.requested.delete(leaseKey);
        this.leftTo.delete(leaseKey);
      },
      'lease.lost': ({ leaseKey }) => {
        this.move({ leaseKey, kind: 'lost', from: self });
        this.leave(leaseKey, undefined);
      },
      'lease.released': ({ leaseKey, to }) => {
        this.move({ leaseKey, kind: releasedMoveKind(to), from: self, to });
        this.leave(leaseKey, to);
      },
      'lease.handoffInitiated': ({ leaseKey, from }) => this.requested.set(leaseKey, from),
      'lease.handoffRequested': ({ leaseKey, to }) => {
        const shard = this.held.get(leaseKey);
        if (shard) shard.handoffTo = to;
      },
      'lease.deleted': ({ leaseKey }) => {
        this.counts.delete(leaseKey);
        this.written.delete(leaseKey);
        this.leftTo.delete(leaseKey);
      },
      'processor.initialized': ({ shardId }) => {
        const shard = this.held.get(shardId);
        if (shard) shard.initialized = true;
      },
      'shard.ended': ({ shardId }) => {
        const shard = this.held.get(shardId);
        if (shard) shard.ended = true;
      },
      'records.delivered': ({ shardId, count, millisBehindLatest }) => this.onDelivered(shardId, count, millisBehindLatest),
      'checkpoint.written': ({ shardId, checkpoint }) => this.written.set(shardId, checkpoint),
      'worker.error': ({ error, shardId, where }) => this.error(where, error, shardId),
      'retrieval.failing': ({ shardId, error }) => this.error('reading records', error, shardId),
      'lease.renewalsFailing': ({ leaseKeys, error }) => this.error(`renewing ${leaseKeys.length === 1 ? 'lease' : 'leases'} ${leaseKeys.join(', ')}`, error),
    });
  }

  /** Stops listening (the worker stopped). The last snapshot stays readable. */
  close(): void {
    this.unsubscribe();
  }

  private now(): string {
    return this.options.clock.wallNow().toISOString();
  }

  private bucket(): number {
    return Math.floor(this.options.clock.now() / this.sampleMillis);
  }

  private onScan(leases: readonly LeaseView[], workers: readonly string[]): void {
    this.scan = new Map(leases.map((l) => [l.leaseKey, l]));
    this.scannedAt = this.now();
    this.alive = workers;
    const now = this.options.clock.now();
    for (const w of workers) this.lastSeenAlive.set(w, now);
    // The scan read the table after our writes were made, or soon will: what it shows is the truth from now on
    // for leases that are not ours, and our record of where they went is no longer needed.
    for (const key of this.leftTo.keys()) if (this.scan.get(key)?.leaseOwner !== this.options.workerId) this.leftTo.delete(key);
    for (const key of this.requested.keys()) if (this.scan.get(key)?.checkpointOwner === undefined) this.requested.delete(key);
    // Shards whose lease is gone from the table (cleaned up after their children started) leave the page.
    for (const key of this.counts.keys()) if (!this.scan.has(key) && !this.held.has(key)) this.counts.delete(key);
    for (const key of this.written.keys()) if (!this.scan.has(key) && !this.held.has(key)) this.written.delete(key);
    this.forgetGoneWorkers(now);
  }

  private forgetGoneWorkers(now: number): void {
    const owners = new Set([...this.scan.values()].map((l) => l.leaseOwner));
    for (const [w, at] of this.lastSeenAlive) {
      if (w !== this.options.workerId && now - at > this.goneWorkerMillis && !owners.has(w)) this.lastSeenAlive.delete(w);
    }
    if (this.lastSeenAlive.size > MAX_WORKERS) {
      const oldest = [...this.lastSeenAlive].filter(([w]) => w !== this.options.workerId).sort((a, b) => a[1] - b[1]);
      for (const [w] of oldest.slice(0, this.lastSeenAlive.size - MAX_WORKERS)) this.lastSeenAlive.delete(w);
    }
  }

  private leave(leaseKey: string, to: string | undefined): void {
    this.held.delete(leaseKey);
    this.leftTo.set(leaseKey, to);
  }

  private onDelivered(shardId: string, count: number, millisBehindLatest: number): void {
    const held = this.held.get(shardId);
    if (held) held.millisBehindLatest = millisBehindLatest;
    if (count === 0) return;
    let shard = this.counts.get(shardId);
    if (!shard) {
      shard = { records: 0, counts: new Array<number>(this.size).fill(0), buckets: new Array<number>(this.size).fill(-1) };
      this.counts.set(shardId, shard);
    }
    shard.records += count;
    shard.lastRecordAt = this.now();
    const b = this.bucket();
    const slot = b % this.size;
    if (shard.buckets[slot] !== b) {
      shard.buckets[slot] = b;
      shard.counts[slot] = 0;
    }
    shard.counts[slot]! += count;
  }

  private countIn(shard: ShardCounts | undefined, b: number): number {
    const slot = b % this.size;
    return shard && shard.buckets[slot] === b ? shard.counts[slot]! : 0;
  }

  private push<T>(list: T[], item: T): void {
    list.unshift(item);
    if (list.length > this.recentLimit) list.length = this.recentLimit;
  }

  private move(move: Omit<LeaseMove, 'at'>): void {
    this.push(this.moves, { at: this.now(), ...withoutUndefined(move) });
  }

  private error(where: string, error: Error, shardId?: string): void {
    const message = error.message.length > MAX_MESSAGE ? `${error.message.slice(0, MAX_MESSAGE)}…` : error.message;
    this.push(this.errors, withoutUndefined({ at: this.now(), where, shardId, message }));
  }

  private owner(leaseKey: string): string | undefined {
    if (this.held.has(leaseKey)) return this.options.workerId;
    // We gave it up since the last scan that could show it (one read before still names us).
    if (this.leftTo.has(leaseKey)) return this.leftTo.get(leaseKey);
    return this.scan.get(leaseKey)?.leaseOwner;
  }

  private checkpoint(leaseKey: string): ExtendedSequenceNumber | undefined {
    const scanned = this.scan.get(leaseKey)?.checkpoint;
    const ours = this.written.get(leaseKey);
    if (!scanned || !ours) return scanned ?? ours;
    return compareSequenceNumbers(ours, scanned) > 0 ? ours : scanned;
  }

  private state(leaseKey: string, owner: string | undefined, checkpoint: ExtendedSequenceNumber | undefined): ShardStatusState {
    const held = this.held.get(leaseKey);
    const lease = this.scan.get(leaseKey);
    if (held) {
      if (held.handoffTo !== undefined) return 'handoff-pending';
      if (held.ended || (checkpoint && isShardEnd(checkpoint))) return 'shard-end';
      if (!held.initialized && (lease?.parentShardIds.length ?? 0) > 0) return 'waiting-on-parents';
      return 'processing';
    }
    if (checkpoint && isShardEnd(checkpoint)) return 'shard-end';
    if (lease?.checkpointOwner !== undefined || this.requested.has(leaseKey)) return 'handoff-pending';
    // A worker this one just handed the lease to is alive (it asked for it), even before a scan lists it.
    return owner !== undefined && (this.alive.includes(owner) || this.leftTo.get(leaseKey) === owner) ? 'owned-elsewhere' : 'unowned';
  }

  snapshot(): StatusSnapshot {
    const { workerId } = this.options;
    const current = this.bucket();
    const keys = [...new Set([...this.scan.keys(), ...this.held.keys(), ...this.counts.keys()])].sort();
    const last = current - 1;
    let totalRecords = 0;
    let lastSample = 0;
    const leasesBy = new Map<string, number>();
    const shards = keys.map((shardId): ShardStatus => {
      const counts = this.counts.get(shardId);
      const held = this.held.get(shardId);
      const owner = this.owner(shardId);
      const checkpoint = this.checkpoint(shardId);
      if (owner !== undefined) leasesBy.set(owner, (leasesBy.get(owner) ?? 0) + 1);
      totalRecords += counts?.records ?? 0;
      lastSample += this.countIn(counts, last);
      const recordsPerSecond: number[] = [];
      if (held) {
        for (let b = Math.max(held.since, current - this.size + 1); b < current; b++) recordsPerSecond.push(this.countIn(counts, b) / (this.sampleMillis / 1000));
      }
      return withoutUndefined({
        shardId,
        owner,
        state: this.state(shardId, owner, checkpoint),
        checkpoint: checkpoint ? formatSequenceNumber(checkpoint) : 'unknown',
        parentShardIds: this.scan.get(shardId)?.parentShardIds ?? [],
        millisBehindLatest: held?.millisBehindLatest,
        records: counts?.records ?? 0,
        recordsPerSecond,
        lastRecordAt: counts?.lastRecordAt,
      });
    });
    const workerIds = [...new Set([workerId, ...this.lastSeenAlive.keys(), ...leasesBy.keys()])].sort();
    const workers = workerIds.map(
      (w): WorkerStatus => ({ workerId: w, leases: leasesBy.get(w) ?? 0, alive: w === workerId || this.alive.includes(w), self: w === workerId }),
    );
    return withoutUndefined({
      application: this.options.application,
      stream: this.options.stream,
      workerId,
      retrievalMode: this.options.retrievalMode,
      generatedAt: this.now(),
      sampleSeconds: this.sampleMillis / 1000,
      scannedAt: this.scannedAt,
      workers,
      shards,
      recentMoves: [...this.moves],
      recentErrors: [...this.errors],
      totals: { records: totalRecords, recordsPerSecond: lastSample / (this.sampleMillis / 1000) },
    });
  }
}

/** The snapshot is JSON: optional fields are absent rather than undefined (so tests compare it as is). */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
