// The minimal processor shown in the README; `from 'kcl-ts'` there is `../src/index.js` here.
import { Worker, type RecordProcessor, type InitializationInput, type ProcessRecordsInput, type ShardEndedInput, type ShutdownRequestedInput } from '../src/index.js';

class PrintingProcessor implements RecordProcessor {
  initialize({ shardId, extendedSequenceNumber }: InitializationInput) {
    console.error(`${shardId}: starting after ${extendedSequenceNumber.sequenceNumber}`);
  }
  async processRecords({ records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) console.log(record.partitionKey, record.text()); // also record.json(), record.data (bytes)
    await checkpointer.checkpoint(); // everything delivered so far
  }
  leaseLost() {} // another worker has the shard now; checkpointing is no longer possible
  async shardEnded({ checkpointer }: ShardEndedInput) {
    await checkpointer.checkpoint(); // required: children of a closed shard start only after this
  }
  async shutdownRequested({ checkpointer }: ShutdownRequestedInput) {
    await checkpointer.checkpoint();
  }
}

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());

const worker = new Worker({
  config: {
    streamName: 'words',
    applicationName: 'my-app',               // also the lease table's name
    initialPositionInStream: 'TRIM_HORIZON', // default LATEST, as in the Java KCL
    // kinesisEndpoint: 'http://127.0.0.1:4568', dynamoDBEndpoint: 'http://127.0.0.1:4569', // for `kcl local`
  },
  processorFactory: () => new PrintingProcessor(),
  signal: stop.signal, // aborting it shuts the worker down gracefully
});
await worker.run(); // resolves once it has stopped gracefully; rejects with the error if it stopped on a fatal one
