/**
 * multilang/ owns the MultiLangDaemon: the protocol codec (docs/daemon-protocol.md), the daemon-side
 * processor that drives a child process per shard, and the child-side runner for TypeScript processors
 * (`kcl-ts/child`). It uses the core; the core never imports it.
 */
export type * from './messages.js';
export {
  encodeDaemonMessage,
  encodeChildMessage,
  recordToMessage,
  decodeChildLine,
  decodeDaemonLine,
  type ChildLine,
  type DaemonLine,
} from './codec.js';
export { JsonNumber, parseLosslessJson, type JsonValue, type JsonObject } from './json.js';
export { runChildProcessor, checkpointError, type ChildRunnerOptions } from './child-runner.js';
export { MultiLangRecordProcessor, splitExecutable, type MultiLangProcessorOptions } from './daemon-processor.js';
export { createMultiLangWorker, checkExecutable, type MultiLangDaemonOptions } from './daemon.js';
export {
  buildDaemonConfig,
  buildDaemonSetup,
  daemonSetupFromProperties,
  loadDaemonProperties,
  DEFAULT_SHUTDOWN_GRACE_MILLIS,
  type DaemonConfig,
  type DaemonConfigInput,
  type DaemonSetup,
} from './daemon-config.js';
