/**
 * leases/ owns the lease: its model and the Java-compatible DynamoDB item format, the LeaseTable (the only code
 * that reads and writes lease items, every write on an existing lease conditional on `leaseCounter`; see
 * docs/lease-protocol.md, 'Fencing'), the pure lease decisions, and the modules that apply them on timers:
 *
 * - lease.ts            the Lease model
 * - serializer.ts       Lease ⇄ DynamoDB item ('Lease item format')
 * - lease-store.ts      the LeaseStore seam the lease logic reads and writes through
 * - lease-table.ts      LeaseStore on DynamoDB, plus table creation and call counts
 * - decisions.ts        every rule as a pure function: expiry, take/steal, scan turns, renewal, hand-off steps
 * - held-leases.ts      the leases this worker holds and their per-lease write queue (checkpoint, release, drop)
 * - renewer.ts          renews held leases every renewal period ('Renewal')
 * - taker.ts            scans at this worker's turn, takes and steals ('Scan turns', 'Taking and stealing')
 * - handoff.ts          the graceful hand-off, requester and holder side, with its timeout ('Graceful hand-off');
 *                       its header defines the hand-off vocabulary used everywhere
 * - coordinator.ts      LeaseCoordinator: the facade the worker uses, wiring the four above
 * - java-coordination.ts  refuses a table a Java KCL 3.x leader coordinates ('Java KCL 3.x tables')
 *
 * It may not read records, run processors or know the worker: it reports through the event stream (lease.*)
 * and takes its clock, random source, logger and table as inputs.
 */
export { LeaseCoordinator, type LeaseCoordinatorConfig, type LeaseCoordinatorTuning, type HeldLease, type ReleaseOutcome } from './coordinator.js';
export { LeaseTable } from './lease-table.js';
export type { LeaseStore } from './lease-store.js';
export type { Lease, HashKeyRange } from './lease.js';
