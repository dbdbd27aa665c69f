/**
 * status/ — one worker's live view for people: the snapshot contract (types.ts) and its model built from the
 * event stream (model.ts), the HTTP server for `/`, `/status` and `/metrics` (server.ts), the live page at `/`
 * (page.ts), and what the Worker starts and stops (service.ts). It reads the event stream only: it never reaches into
 * leases, retrieval or the lifecycle, and nothing in the core imports it except the Worker's start/stop wiring.
 */
export type * from './types.js';
export { StatusModel, type StatusModelOptions } from './model.js';
export { StatusServer } from './server.js';
export { StatusService } from './service.js';
