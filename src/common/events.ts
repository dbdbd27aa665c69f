/**
 * The one event stream. Everything observable about a worker leaves through here: logs, `kcl status`-style
 * progress, tests and the chaos verifier subscribe instead of reaching inside.
 */
import { EventEmitter } from 'node:events';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import { toError } from './errors.js';

export type LeaseLossReason = 'taken' | 'expired' | 'released';

/** A lease as a scan of the lease table saw it (any worker's). */
export interface LeaseView {
  readonly leaseKey: string;
  readonly leaseOwner?: string;
  readonly leaseCounter: number;
  readonly checkpoint: ExtendedSequenceNumber;
  readonly parentShardIds: readonly string[];
  /** Set while a graceful hand-off to this worker is pending. */
  readonly checkpointOwner?: string;
}

export interface KclEventMap {
  'worker.started': { workerId: string };
  'worker.stopped': { workerId: string };
  'worker.error': { error: Error; shardId?: string; where: string };
  'shards.synced': { shardCount: number; leasesCreated: number };
  'lease.acquired': { leaseKey: string; workerId: string; stolenFrom?: string };
  'lease.lost': { leaseKey: string; workerId: string; reason: LeaseLossReason };
  /** `to`: the worker it was handed to (graceful hand-off); absent when simply released. */
  'lease.released': { leaseKey: string; workerId: string; to?: string };
  /** This worker asked `from` to hand a lease over (balancing); it starts once `from` has checkpointed. */
  'lease.handoffInitiated': { leaseKey: string; workerId: string; from: string };
  /** Another worker (`to`) asked for a lease this worker holds: its processor gets shutdownRequested. */
  'lease.handoffRequested': { leaseKey: string; workerId: string; to: string };
  'lease.deleted': { leaseKey: string };
  /**
   * The lease taker read the whole table: every lease, the workers it considers alive (itself included), how
   * many leases it wanted to take or steal and how many moved, and how long the scan took.
   */
  'leases.scanned': { workerId: string; leases: readonly LeaseView[]; workers: readonly string[]; wanted: number; moved: number; scanMillis: number };
  'processor.initialized': { shardId: string; checkpoint: ExtendedSequenceNumber };
  /**
   * A batch went through the consumer: `count` user records of `bytes` data (0 for an empty poll or event, which
   * still carries the lag); `processMillis` is how long processRecords took, absent when it was not called.
   */
  'records.delivered': { shardId: string; count: number; bytes: number; millisBehindLatest: number; lastSequenceNumber?: string; processMillis?: number };
  'checkpoint.written': { shardId: string; checkpoint: ExtendedSequenceNumber; millis: number };
  'checkpoint.failed': { shardId: string; checkpoint: ExtendedSequenceNumber; error: Error; millis: number };
  'shard.ended': { shardId: string; childShardIds: string[] };
  'processor.shutdown': { shardId: string; reason: 'LEASE_LOST' | 'SHARD_END' | 'REQUESTED' };
  /**
   * This worker's lease renewals started failing (DynamoDB unreachable, throttled, timing out): once per outage.
   * `failingForMillis`: since the last renewal that landed. Processing goes on until a lease may have expired
   * by this worker's clock; then it stops (`lease.lost` with reason `expired`).
   */
  'lease.renewalsFailing': { workerId: string; leaseKeys: string[]; error: Error; failingForMillis: number };
  /** A lease-table call landed again after `lease.renewalsFailing`. */
  'lease.renewalsRecovered': { workerId: string; failedForMillis: number };
  /** Reads of a shard started failing (once per outage; throttling only when it persists). Retried with backoff. */
  'retrieval.failing': { shardId: string; error: Error; failingForMillis: number };
  /** Reads of the shard work again after `retrieval.failing`; nothing was skipped. */
  'retrieval.recovered': { shardId: string; failedForMillis: number };
  /** An enhanced fan-out subscription to a shard was requested, from this position. */
  'subscription.started': { shardId: string; startingPosition: { type: string; sequenceNumber?: string; timestamp?: string } };
  /**
   * It ended: `completed` (the service closed it, as AWS does every 5 minutes; a new one follows), `shard-end`,
   * `failed` (with the error; a new one follows after backoff) or `stopped` (the lease or the worker stopped).
   */
  'subscription.ended': { shardId: string; outcome: 'completed' | 'shard-end' | 'failed' | 'stopped'; events: number; millis: number; error?: Error };
  /** Every call to AWS, as it ended: 'ok' or the kind of error (aws/errors.ts). */
  'aws.call': { service: 'kinesis' | 'dynamodb' | 'cloudwatch'; operation: string; shardId?: string; purpose?: string; outcome: string; millis: number };
}

export type KclEventName = keyof KclEventMap;

/** The listening side of the event stream: what a worker hands its users (they can listen, not emit). */
export interface KclEventStream {
  /** Adds a listener; returns a function that removes it. */
  on<K extends KclEventName>(name: K, listener: (event: KclEventMap[K]) => void): () => void;
  /** Adds a listener for the next event of that name only. */
  once<K extends KclEventName>(name: K, listener: (event: KclEventMap[K]) => void): void;
  off<K extends KclEventName>(name: K, listener: (event: KclEventMap[K]) => void): void;
}

/** A typed facade over EventEmitter. A listener that throws is reported, never breaks the worker. */
export class KclEvents implements KclEventStream {
  private readonly emitter = new EventEmitter();
  /** once() listeners, by the listener the caller passed, so off() finds them. */
  private readonly onceWrappers = new WeakMap<object, Parameters<EventEmitter['on']>[1]>();
  constructor(private readonly onListenerError: (err: Error, event: KclEventName) => void = () => undefined) {
    this.emitter.setMaxListeners(100);
  }
  on<K extends KclEventName>(name: K, listener: (event: KclEventMap[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
  once<K extends KclEventName>(name: K, listener: (event: KclEventMap[K]) => void): void {
    // emit() calls the listeners itself (to report a throwing one), so EventEmitter's own once would never
    // remove them: the wrapper removes itself.
    const wrapper = (event: KclEventMap[K]) => {
      this.off(name, listener);
      listener(event);
    };
    this.onceWrappers.set(listener, wrapper);
    this.emitter.on(name, wrapper);
  }
  off<K extends KclEventName>(name: K, listener: (event: KclEventMap[K]) => void): void {
    const wrapper = this.onceWrappers.get(listener);
    if (wrapper) {
      this.onceWrappers.delete(listener);
      this.emitter.off(name, wrapper);
    }
    this.emitter.off(name, listener);
  }
  emit<K extends KclEventName>(name: K, event: KclEventMap[K]): void {
    for (const listener of this.emitter.listeners(name)) {
      try {
        (listener as (e: KclEventMap[K]) => void)(event);
      } catch (err) {
        this.onListenerError(toError(err), name);
      }
    }
  }
  /** A view with on/once/off only, for users: nothing outside the library emits. */
  readOnly(): KclEventStream {
    return Object.freeze({
      on: this.on.bind(this),
      once: this.once.bind(this),
      off: this.off.bind(this),
    }) as KclEventStream;
  }
}
