/**
 * The pure part of the ShardConsumer: states, shutdown reasons and their precedence.
 */

export type ConsumerState =
  | 'WAITING_ON_PARENT_SHARDS'
  | 'INITIALIZING'
  | 'PROCESSING'
  | 'SHUTTING_DOWN'
  | 'SHUTDOWN_COMPLETE';

export type ShutdownReason = 'REQUESTED' | 'SHARD_END' | 'LEASE_LOST';

const RANK: Record<ShutdownReason, number> = { REQUESTED: 1, SHARD_END: 2, LEASE_LOST: 3 };

/** A later reason replaces an earlier one only if it ranks higher: LEASE_LOST > SHARD_END > REQUESTED. */
export function mergeShutdownReason(current: ShutdownReason | undefined, incoming: ShutdownReason): ShutdownReason {
  if (current === undefined) return incoming;
  return RANK[incoming] > RANK[current] ? incoming : current;
}

/** The processor callback a shutdown with this reason ends in. */
export function finalCallback(reason: ShutdownReason): 'leaseLost' | 'shardEnded' | 'shutdownRequested' {
  switch (reason) {
    case 'LEASE_LOST':
      return 'leaseLost';
    case 'SHARD_END':
      return 'shardEnded';
    case 'REQUESTED':
      return 'shutdownRequested';
  }
}

/** Legal transitions; anything else is a bug in the consumer. */
export const TRANSITIONS: Readonly<Record<ConsumerState, readonly ConsumerState[]>> = {
  WAITING_ON_PARENT_SHARDS: ['INITIALIZING', 'SHUTTING_DOWN'],
  INITIALIZING: ['PROCESSING', 'SHUTTING_DOWN'],
  PROCESSING: ['PROCESSING', 'SHUTTING_DOWN'],
  SHUTTING_DOWN: ['SHUTDOWN_COMPLETE'],
  SHUTDOWN_COMPLETE: [],
};

export function canTransition(from: ConsumerState, to: ConsumerState): boolean {
  return TRANSITIONS[from].includes(to);
}
