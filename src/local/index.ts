/**
 * local/ is local mode (`kcl-ts/local`): it starts and stops the emulators on loopback (kinesis-local and
 * dynalite, optional peer dependencies loaded only when the stack starts), creates streams, and produces test
 * records (also KPL aggregates). It uses the core; the core never imports it (docs/local-mode.md).
 */
export { startLocalStack, checkEmulatorsInstalled, EmulatorsNotInstalledError, PortInUseError, type LocalStack, type LocalStackOptions } from './stack.js';
export { ensureStream, deleteStreamIfExists } from './streams.js';
export { produceRecords, parseProducedRecord, type ProduceOptions, type ProduceResult, type ProducedRecord } from './producer.js';
