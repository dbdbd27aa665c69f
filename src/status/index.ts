/**
 * status/ — one worker's live view for people: the snapshot contract (types.ts) and its model built from the
 * event stream (model.ts), the HTTP server for `/`, `/status` and `/metrics` (server.ts), the live page at `/`
 * (page.ts), what the Worker starts and stops (service.ts), and the terminal rendering of `kcl status --watch`
 * (terminal.ts: its input is built by cli/status-watch.ts from lease-table scans). It reads the event stream only:
 * it never reaches into leases, retrieval or the lifecycle, and nothing in the core imports it except the
 * Worker's start/stop wiring.
 */
export type * from './types.js';
export { StatusModel, type StatusModelOptions } from './model.js';
export { StatusServer } from './server.js';
export { StatusService } from './service.js';
