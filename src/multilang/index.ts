/**
 * Public surface of multilang/: the message types, the codec, and the child-side runner for TypeScript
 * processors, and the daemon side; the core never imports this module.
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
export { createMultiLangWorker, checkExecutable, DEFAULT_SHUTDOWN_GRACE_MILLIS, type MultiLangDaemonOptions } from './daemon.js';
