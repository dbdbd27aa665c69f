/**
 * local/ starts and stops the emulators on loopback; the core never imports it.
 *
 * This file is the public face of local/: the stack (kinesis-local + dynalite), stream helpers and the producer.
 */
export { startLocalStack, checkEmulatorsInstalled, EmulatorsNotInstalledError, PortInUseError, type LocalStack, type LocalStackOptions } from './stack.js';
export { ensureStream, deleteStreamIfExists } from './streams.js';
export { produceRecords, parseProducedRecord, type ProduceOptions, type ProduceResult, type ProducedRecord } from './producer.js';
