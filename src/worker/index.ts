/**
 * worker/ wires the library's parts into a running consumer application and supervises what runs:
 *
 * - worker.ts               the Worker: builds the clients, the lease table and coordinator, the consumer
 *                           supervisor and the shard-sync loop; start, run, shutdown, the signal option and
 *                           Symbol.asyncDispose; decides what is fatal (see the class doc)
 * - consumer-supervisor.ts  one run per held lease: consumers, restart backoff, hand-off reactions, release
 * - shard-sync-loop.ts      the periodic shard sync and lease cleanup
 * - internals.ts            @internal access to a worker's lease internals for tests and benchmarks
 *
 * It may not hold lease rules (they live in leases/), read records itself (retrieval/, lifecycle/) or parse
 * configuration (config/): it passes the KclConfig (or a Pick of it) to the modules that act on it.
 */
export { Worker, type WorkerOptions, type WorkerState, type ShardProgress } from './worker.js';
