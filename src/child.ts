/**
 * `kcl-ts/child`: run a TypeScript record processor as the child of a MultiLangDaemon (this package's
 * `kcl multilang` or the Java one). A processor file is its own executable:
 *
 *   import { runChildProcessor, type RecordProcessor } from 'kcl-ts/child';
 *   class MyProcessor implements RecordProcessor { ... }
 *   await runChildProcessor(new MyProcessor());
 *
 * and the daemon's properties say `executableName = node my-processor.js`. This entry point loads no AWS
 * client: a child only speaks the protocol on stdin/stdout.
 */
export { runChildProcessor, type ChildRunnerOptions } from './multilang/child-runner.js';
// Everything a record processor is written against (RecordProcessor, its inputs, the record, the checkpointer).
export type * from './processor/types.js';
export { type ExtendedSequenceNumber } from './checkpoint/sequence.js';
export {
  KclError,
  ShutdownException,
  ThrottlingException,
  InvalidStateException,
  KinesisClientLibDependencyException,
  IllegalArgumentException,
} from './common/errors.js';
