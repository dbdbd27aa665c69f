/**
 * ConsumerSupervisor: one run per held lease, from lease.acquired to the lease's release. A run starts a
 * ShardConsumer, replaces a processor that failed (ProcessorFailedException) after a growing backoff while
 * keeping the lease, and at the end releases the lease (or completes the hand-off the lease layer recorded).
 * It reacts to the lease events: acquired → start a run; lost → the consumer ends with leaseLost;
 * handoffRequested → the consumer ends with shutdownRequested; released while consuming (a hand-off forced at
 * its timeout) → leaseLost. It never writes to the lease table except through the coordinator.
 */
import { setMaxListeners } from 'node:events';
import { sleepUnlessAborted, type Clock } from '../common/clock.js';
import type { KclEvents } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import { retryDelayMillis, taskBackoffPolicy } from '../common/retry.js';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import type { KclConfig } from '../config/config.js';
import type { LeaseCoordinator } from '../leases/coordinator.js';
import type { Lease } from '../leases/lease.js';
import type { ShardConsumer } from '../lifecycle/shard-consumer.js';
import type { ConsumerState } from '../lifecycle/states.js';

export interface ShardProgress {
  shardId: string;
  state: ConsumerState;
  recordsDelivered: number;
  checkpoint: ExtendedSequenceNumber;
  millisBehindLatest: number;
}

/** What one lease's run is doing now. */
type RunPhase =
  | { readonly kind: 'consuming'; readonly consumer: ShardConsumer }
  /** Waiting out the backoff before a fresh processor; `wake` cuts it short (hand-off request). */
  | { readonly kind: 'backing-off'; readonly wake: () => void }
  /** The consumer ended; the lease is being released or handed off. */
  | { readonly kind: 'ending' };

/** supervising: runs start and restart; stopping: the worker shuts down, nothing new starts. */
export type SupervisorState = 'supervising' | 'stopping';


export interface ConsumerSupervisorDeps {
  readonly leases: LeaseCoordinator;
  /** Builds the consumer (processor, records source, lease access) for one run. */
  readonly createConsumer: (leaseKey: string, lease: Lease, concurrencyToken: string) => ShardConsumer;
  readonly clock: Clock;
  readonly events: KclEvents;
  readonly logger: Logger;
  /** Logs an error once and emits it as worker.error. */
  readonly report: (err: unknown, where: string, shardId?: string) => void;
}

export class ConsumerSupervisor {
  private stateValue: SupervisorState = 'supervising';
  private readonly phases = new Map<string, RunPhase>();
  /** The latest run per lease; a lease taken again waits for its previous run to end. */
  private readonly runs = new Map<string, Promise<void>>();
  /** Aborted when shutdown starts, so a restart waiting out its backoff gives up at once. */
  private readonly stopRestarts = new AbortController();

  constructor(
    private readonly config: Pick<KclConfig, 'taskBackoffTimeMillis'>,
    private readonly deps: ConsumerSupervisorDeps,
  ) {
    setMaxListeners(0, this.stopRestarts.signal);
    const { events } = deps;
    events.on('lease.acquired', ({ leaseKey }) => this.start(leaseKey));
    events.on('lease.lost', ({ leaseKey }) => this.consumer(leaseKey)?.leaseLost());
    events.on('lease.handoffRequested', ({ leaseKey }) => this.handOff(leaseKey));
    // Released while its consumer still runs: the hand-off was forced at its timeout.
    events.on('lease.released', ({ leaseKey }) => this.consumer(leaseKey)?.leaseLost());
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  /** A method, not a property read, so a check after an await sees a stop() that happened meanwhile. */
  private isStopping(): boolean {
    return this.stateValue === 'stopping';
  }

  private consumer(leaseKey: string): ShardConsumer | undefined {
    const phase = this.phases.get(leaseKey);
    return phase?.kind === 'consuming' ? phase.consumer : undefined;
  }

  private consumers(): ShardConsumer[] {
    return [...this.phases.values()].flatMap((p) => (p.kind === 'consuming' ? [p.consumer] : []));
  }

  /** Per-shard progress of the running consumers, by shard id. */
  progress(): ShardProgress[] {
    return this.consumers()
      .map((c) => ({ shardId: c.shardId, state: c.state, recordsDelivered: c.delivered, checkpoint: c.lastCheckpoint, millisBehindLatest: c.millisBehindLatest }))
      .sort((a, b) => a.shardId.localeCompare(b.shardId));
  }

  /** How many consumers are running. */
  get consuming(): number {
    return this.consumers().length;
  }

  /**
   * Another worker requested a lease: the processor gets shutdownRequested (it may checkpoint), then the run
   * releases the lease, which completes the hand-off. A lease with no run is released at once; a run waiting
   * out a restart backoff wakes and hands off.
   */
  private handOff(leaseKey: string): void {
    const phase = this.phases.get(leaseKey);
    if (phase?.kind === 'consuming') phase.consumer.requestShutdown();
    else if (!this.runs.has(leaseKey)) this.deps.leases.release(leaseKey).catch((err: unknown) => this.deps.report(err, 'lease hand-off', leaseKey));
    if (phase?.kind === 'backing-off') phase.wake();
  }

  private start(leaseKey: string): void {
    const held = this.deps.leases.getHeld(leaseKey);
    if (!held || this.isStopping()) return;
    const previous = this.runs.get(leaseKey) ?? Promise.resolve();
    const run = previous.then(() => this.run(leaseKey, held.concurrencyToken));
    const settled = run.catch((err: unknown) => this.deps.report(err, 'shard consumer', leaseKey));
    this.runs.set(leaseKey, settled);
    void settled.finally(() => {
      if (this.runs.get(leaseKey) === settled) this.runs.delete(leaseKey);
    });
  }

  /**
   * Runs consumers for one held lease until it ends: released after a shutdown request or at shard end,
   * nothing more when lost. A processor that failed is replaced by a fresh one from the last checkpoint after
   * a growing backoff, keeping the lease, so one bad shard never stops others.
   */
  private async run(leaseKey: string, concurrencyToken: string): Promise<void> {
    const { leases, logger } = this.deps;
    try {
      for (let failures = 0; ; failures++) {
        const current = leases.getHeld(leaseKey);
        if (!current || current.concurrencyToken !== concurrencyToken || this.isStopping() || leases.handoffRequested(leaseKey)) {
          if (current && current.concurrencyToken === concurrencyToken) await leases.release(leaseKey);
          return;
        }
        const consumer = this.deps.createConsumer(leaseKey, current.lease, concurrencyToken);
        this.phases.set(leaseKey, { kind: 'consuming', consumer });
        logger.info({ shardId: leaseKey, checkpoint: current.lease.checkpoint.sequenceNumber }, 'processing shard');
        let reason: Awaited<ReturnType<ShardConsumer['run']>>;
        try {
          reason = await consumer.run();
        } catch (err) {
          this.deps.report(err, 'shard consumer', leaseKey);
          leases.drop(leaseKey, 'expired');
          return;
        } finally {
          this.phases.set(leaseKey, { kind: 'ending' });
        }
        if (reason === 'LEASE_LOST') return;
        if (consumer.processorFailed && !this.isStopping() && !leases.handoffRequested(leaseKey)) {
          const wait = retryDelayMillis(taskBackoffPolicy(this.config.taskBackoffTimeMillis), failures + 1);
          logger.warn({ shardId: leaseKey, attempt: failures + 1, waitMillis: wait }, 'starting a new record processor for the shard after backoff');
          await this.backOff(leaseKey, wait);
          continue;
        }
        // Hand the lease back at once (shutdown requested), to the worker that requested it (hand-off), or
        // give up a finished shard (SHARD_END).
        const outcome = await leases.release(leaseKey);
        // A finished shard may have children to take; a consumer that stopped on its own should restart.
        if (!this.isStopping() && outcome !== 'handed-off') leases.requestTake();
        return;
      }
    } finally {
      this.phases.delete(leaseKey);
    }
  }

  /** Waits out a restart backoff; cut short by shutdown or by a hand-off request for this lease. */
  private async backOff(leaseKey: string, millis: number): Promise<void> {
    const wake = new AbortController();
    const onStop = () => wake.abort();
    this.stopRestarts.signal.addEventListener('abort', onStop, { once: true });
    this.phases.set(leaseKey, { kind: 'backing-off', wake: onStop });
    try {
      await sleepUnlessAborted(this.deps.clock, millis, wake.signal);
    } finally {
      this.stopRestarts.signal.removeEventListener('abort', onStop);
      this.phases.set(leaseKey, { kind: 'ending' });
    }
  }

  /** Shutdown begins: nothing new starts, restarts waiting out a backoff give up. */
  stop(): void {
    this.stateValue = 'stopping';
    this.stopRestarts.abort();
  }

  /** Every running consumer gets shutdownRequested. */
  requestShutdownAll(): void {
    for (const consumer of this.consumers()) consumer.requestShutdown();
  }

  /** Waits for every run to end; false when `timeoutMillis` passed first. */
  async drain(timeoutMillis: number): Promise<boolean> {
    const deadline = new AbortController();
    try {
      return await Promise.race([
        Promise.all([...this.runs.values()]).then(() => true),
        sleepUnlessAborted(this.deps.clock, timeoutMillis, deadline.signal).then(() => false),
      ]);
    } finally {
      deadline.abort();
    }
  }

  /** Releases the held leases that have no consumer (acquired during shutdown, never started). */
  async releaseIdle(): Promise<void> {
    const { leases } = this.deps;
    await Promise.all(leases.heldLeases().map((h) => (this.consumer(h.lease.leaseKey) ? undefined : leases.release(h.lease.leaseKey))));
  }
}
