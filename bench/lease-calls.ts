/**
 * Lease-table calls counted from a worker's event stream (`aws.call` with service dynamodb, by purpose): the
 * figure the lease cost model is judged on. Counted where they end (the event is emitted then), one per
 * attempt and per scan page, as LeaseTable makes them.
 */
import type { KclEventStream } from '../src/common/events.js';

export interface LeaseTableCallCounts {
  scan: number;
  get: number;
  put: number;
  update: number;
  delete: number;
  /** Conditional updates by purpose (renew, take, checkpoint, release, handoff-request, handoff-complete, handoff-withdraw, meta). */
  updates: Record<string, number>;
}

/** The lease table's set-up (once per start): not part of the steady-state cost. */
const SET_UP = new Set(['create-table', 'describe-table']);

/** Counts from now on; the returned object is updated in place as calls end. */
export function countLeaseTableCalls(events: KclEventStream): LeaseTableCallCounts {
  const counts: LeaseTableCallCounts = { scan: 0, get: 0, put: 0, update: 0, delete: 0, updates: {} };
  events.on('aws.call', ({ service, purpose }) => {
    if (service !== 'dynamodb' || purpose === undefined || SET_UP.has(purpose)) return;
    if (purpose === 'scan' || purpose === 'get' || purpose === 'put' || purpose === 'delete') counts[purpose]++;
    else {
      // Every other purpose names a conditional UpdateItem.
      counts.update++;
      counts.updates[purpose] = (counts.updates[purpose] ?? 0) + 1;
    }
  });
  return counts;
}

/** A copy to log or compare (the counts keep changing). */
export function copyCounts(counts: LeaseTableCallCounts): LeaseTableCallCounts {
  return { ...counts, updates: { ...counts.updates } };
}
