/**
 * @internal A worker's lease internals, for the repository's own tests and benchmarks (held leases, pending
 * hand-offs). Not exported from src/index.ts: users observe a worker through its events, progress() and run();
 * nothing here is a stable API.
 */
import type { LeaseCoordinator } from '../leases/coordinator.js';

export interface WorkerInternals {
  readonly leases: LeaseCoordinator;
}

const internals = new WeakMap<object, WorkerInternals>();

/** Called by the Worker's constructor. */
export function registerInternals(worker: object, parts: WorkerInternals): void {
  internals.set(worker, parts);
}

/** @internal The lease coordinator of a worker built in this process. */
export function workerInternals(worker: object): WorkerInternals {
  const parts = internals.get(worker);
  if (!parts) throw new TypeError('not a Worker');
  return parts;
}
