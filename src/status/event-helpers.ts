/**
 * Small pieces shared by the consumers of the event stream in status/ and metrics/: subscribing a table of
 * listeners at once, and how a lease event reads as a move (`kcl_lease_events_total{event}` and the status
 * page's moves agree).
 */
import type { KclEventMap, KclEventStream } from '../common/events.js';
import type { LeaseMove } from './types.js';

export type EventListeners = { [K in keyof KclEventMap]?: (event: KclEventMap[K]) => void };

/** Subscribes every listener of the table; returns the function that unsubscribes them all. */
export function listenAll(events: KclEventStream, listeners: EventListeners): () => void {
  const offs = (Object.keys(listeners) as (keyof KclEventMap)[]).map((name) => events.on(name, listeners[name] as (event: KclEventMap[typeof name]) => void));
  return () => {
    for (const off of offs) off();
  };
}

/**
 * `lease.acquired` names the previous owner whenever there was one, also when that owner's lease had expired
 * (it is gone): a move from a worker that the latest scan still found alive is a steal (balancing or a graceful
 * hand-off), from anyone else a take.
 */
export function acquiredMoveKind(previousOwner: string | undefined, aliveWorkers: readonly string[]): LeaseMove['kind'] {
  return previousOwner !== undefined && aliveWorkers.includes(previousOwner) ? 'stolen' : 'taken';
}

/** `lease.released` with `to` completed a graceful hand-off; without, the lease was simply given up. */
export function releasedMoveKind(to: string | undefined): LeaseMove['kind'] {
  return to === undefined ? 'released' : 'handed_off';
}
