/**
 * The child side of the multi-language protocol for TypeScript processors: runs an in-process
 * RecordProcessor as the child of any MultiLangDaemon (ours or Java's), translating daemon actions into the
 * processor API and checkpoints into protocol round trips.
 *
 * A processor file is its own executable:
 *
 *   import { runChildProcessor } from 'kcl-ts/child';
 *   class MyProcessor implements RecordProcessor { ... }
 *   await runChildProcessor(new MyProcessor());
 *
 * and the daemon's properties say `executableName = node dist/my-processor.js`.
 */
import type { Readable, Writable } from 'node:stream';
import { SHARD_END, TRIM_HORIZON, type ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import {
  IllegalArgumentException,
  InvalidStateException,
  KclError,
  KinesisClientLibDependencyException,
  ShutdownException,
  ThrottlingException,
} from '../common/errors.js';
import type { Checkpointer, KinesisClientRecord, RecordProcessor } from '../processor/types.js';
import { LineSplitter } from '../common/lines.js';
import { decodeDaemonLine, encodeChildMessage } from './codec.js';
import type { CheckpointRequestMessage, CheckpointResponseMessage, IncomingDaemonMessage, RecordMessage } from './messages.js';

export interface ChildRunnerOptions {
  /** Defaults to process.stdin. */
  readonly input?: Readable;
  /** Defaults to process.stdout, which is then reserved for the protocol (see runChildProcessor). */
  readonly output?: Writable;
  /** Where processor failures and protocol complaints go; defaults to process.stderr. */
  readonly errorOutput?: Writable;
}

/**
 * Speaks the protocol until the daemon closes our input (after the terminal action); resolves then.
 * Processor calls are strictly serial and each is answered with a `status`, even when it throws (the error
 * goes to stderr, as kclpy does), because a missing status would stall or kill the daemon.
 *
 * When the output is the real process.stdout, stray writes to process.stdout (console.log included) are
 * redirected to stderr for the duration, since any text on stdout is read by the daemon as protocol.
 */
export async function runChildProcessor(processor: RecordProcessor, options: ChildRunnerOptions = {}): Promise<void> {
  const errorOutput = options.errorOutput ?? process.stderr;
  const output = options.output ?? process.stdout;
  const restoreStdout = output === process.stdout ? reserveStdout() : () => undefined;
  try {
    const protocol = new ChildProtocol(options.input ?? process.stdin, output, errorOutput);
    await new ChildSession(processor, protocol).run();
  } finally {
    restoreStdout();
  }
}

/** Maps the daemon's `error` (a Java simple class name) to our error class of the same name. */
export function checkpointError(name: string, position: string): KclError {
  const message = `checkpoint at ${position} failed in the daemon: ${name}`;
  switch (name) {
    case 'ShutdownException':
      return new ShutdownException(message);
    case 'ThrottlingException':
      return new ThrottlingException(message);
    case 'InvalidStateException':
      return new InvalidStateException(message);
    case 'KinesisClientLibDependencyException':
      return new KinesisClientLibDependencyException(message);
    case 'IllegalArgumentException':
      return new IllegalArgumentException(message);
    default:
      return new KclError(message);
  }
}

type WriteFunction = typeof process.stdout.write;

/** Protocol output keeps the real stdout write; everyone else's stdout writes land on stderr. */
function reserveStdout(): () => void {
  const stdout = process.stdout;
  const original = stdout.write;
  const protocolWrite: WriteFunction = original.bind(stdout);
  const toStderr: WriteFunction = process.stderr.write.bind(process.stderr) as WriteFunction;
  stdout.write = toStderr;
  protocolWriters.set(stdout, protocolWrite);
  return () => {
    stdout.write = original;
    protocolWriters.delete(stdout);
  };
}

/** The real write function of a stream whose `write` was redirected by reserveStdout. */
const protocolWriters = new WeakMap<Writable, WriteFunction>();

/** Line I/O with the daemon: reads actions (skipping blanks, reporting garbage), writes JSON lines. */
class ChildProtocol {
  private readonly lines: AsyncIterator<string>;

  constructor(
    input: Readable,
    private readonly output: Writable,
    private readonly errorOutput: Writable,
  ) {
    this.lines = readLines(input);
  }

  /** The next daemon message, or undefined at end of input. */
  async next(): Promise<IncomingDaemonMessage | undefined> {
    for (;;) {
      const line = await this.lines.next();
      if (line.done) return undefined;
      const decoded = decodeDaemonLine(line.value);
      if (decoded.kind === 'message') return decoded.message;
      if (decoded.kind === 'garbage') this.report(`ignoring unexpected line from the daemon (${decoded.reason}): ${line.value}`);
    }
  }

  async send(json: string): Promise<void> {
    const write = protocolWriters.get(this.output);
    const line = `${json}\n`;
    const flushed = write ? write(line) : this.output.write(line);
    if (!flushed) await new Promise<void>((resolve) => this.output.once('drain', resolve));
  }

  report(text: string): void {
    this.errorOutput.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

async function* readLines(input: Readable): AsyncGenerator<string> {
  const splitter = new LineSplitter();
  for await (const chunk of input as AsyncIterable<Uint8Array | string>) yield* splitter.push(chunk);
  yield* splitter.end();
}

/** One child = one shard: dispatches actions in order and keeps the local checkpoint view. */
class ChildSession {
  private shardId = '';
  private last: ExtendedSequenceNumber = TRIM_HORIZON;
  private largest: ExtendedSequenceNumber = TRIM_HORIZON;

  constructor(
    private readonly processor: RecordProcessor,
    private readonly protocol: ChildProtocol,
  ) {}

  async run(): Promise<void> {
    for (let msg = await this.protocol.next(); msg !== undefined; msg = await this.protocol.next()) {
      if (msg.action === 'checkpoint') {
        // Only ever an answer to our request, and requests are only made inside a call; don't answer it.
        this.protocol.report(`ignoring a checkpoint response outside of a checkpoint call: ${JSON.stringify(msg)}`);
        continue;
      }
      await this.dispatch(msg);
      await this.protocol.send(encodeChildMessage({ action: 'status', responseFor: msg.action }));
    }
  }

  private async dispatch(msg: Exclude<IncomingDaemonMessage, CheckpointResponseMessage>): Promise<void> {
    switch (msg.action) {
      case 'initialize':
        this.shardId = msg.shardId;
        this.last = this.largest = position(msg.sequenceNumber ?? TRIM_HORIZON.sequenceNumber, msg.subSequenceNumber);
        return this.call('initialize', () => this.processor.initialize({ shardId: this.shardId, extendedSequenceNumber: this.last }));
      case 'processRecords':
        return this.processRecords(msg.records, msg.millisBehindLatest ?? 0);
      case 'leaseLost':
        return this.call('leaseLost', () => this.processor.leaseLost({ shardId: this.shardId }));
      case 'shardEnded':
        return this.shardEnded();
      case 'shutdownRequested':
        return this.withCheckpointer('shutdownRequested', (checkpointer) =>
          this.processor.shutdownRequested({ shardId: this.shardId, checkpointer }),
        );
      case 'shutdown':
        // KCL 1.x: TERMINATE is the shard end, anything else (ZOMBIE) the lease loss.
        return msg.reason === 'TERMINATE' ? this.shardEnded() : this.call('leaseLost', () => this.processor.leaseLost({ shardId: this.shardId }));
    }
  }

  private processRecords(messages: readonly RecordMessage[], millisBehindLatest: number): Promise<void> {
    const records = messages.map(toRecord);
    const lastRecord = records[records.length - 1];
    if (lastRecord) this.largest = position(lastRecord.sequenceNumber, lastRecord.subSequenceNumber);
    return this.withCheckpointer('processRecords', (checkpointer) =>
      this.processor.processRecords({ shardId: this.shardId, records, millisBehindLatest, checkpointer, isAtShardEnd: false }),
    );
  }

  private shardEnded(): Promise<void> {
    this.largest = SHARD_END;
    return this.withCheckpointer('shardEnded', (checkpointer) => this.processor.shardEnded({ shardId: this.shardId, checkpointer }));
  }

  /**
   * Runs a call with a checkpointer that is valid only during it. Checkpoints still in flight when the call
   * returns are awaited before the status goes out, so their responses are never mistaken for actions.
   */
  private async withCheckpointer(method: string, fn: (checkpointer: Checkpointer) => void | Promise<void>): Promise<void> {
    const checkpointer = new ProtocolCheckpointer(this);
    try {
      await this.call(method, () => fn(checkpointer));
    } finally {
      await checkpointer.close();
    }
  }

  private async call(method: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.protocol.report(`record processor ${method} failed for ${this.shardId}: ${describeError(err)}`);
    }
  }

  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.last;
  }

  get largestPermittedCheckpoint(): ExtendedSequenceNumber {
    return this.largest;
  }

  /** One checkpoint round trip: request, then the daemon's next message must be the response. */
  async exchange(request: CheckpointRequestMessage): Promise<void> {
    const target = request.sequenceNumber === null ? this.largest : position(request.sequenceNumber, request.subSequenceNumber);
    await this.protocol.send(encodeChildMessage(request));
    const response = await this.protocol.next();
    const where = request.sequenceNumber ?? 'the largest permitted position';
    if (response === undefined) throw new ShutdownException(`daemon closed the input while checkpoint at ${where} was pending`);
    if (response.action !== 'checkpoint') {
      // As kclpy: any other message here means the protocol is out of step.
      this.protocol.report(`expected a checkpoint response, got ${JSON.stringify(response)}`);
      throw new InvalidStateException(`checkpoint at ${where}: the daemon answered with "${response.action}"`);
    }
    if (response.error !== null && response.error !== undefined) throw checkpointError(response.error, where);
    this.last = target;
  }
}

type CheckpointArg = string | Pick<KinesisClientRecord, 'sequenceNumber' | 'subSequenceNumber'> | undefined;

/** Checkpoints through the daemon; concurrent calls are serialised because responses match requests by order. */
class ProtocolCheckpointer implements Checkpointer {
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly session: ChildSession) {}

  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.session.lastCheckpoint;
  }

  get largestPermittedCheckpoint(): ExtendedSequenceNumber {
    return this.session.largestPermittedCheckpoint;
  }

  checkpoint(): Promise<void>;
  checkpoint(record: Pick<KinesisClientRecord, 'sequenceNumber' | 'subSequenceNumber'>): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  checkpoint(arg?: CheckpointArg, sub?: number): Promise<void> {
    if (this.closed) {
      return Promise.reject(new InvalidStateException('checkpointer used after its processor call returned; checkpoint inside the call'));
    }
    let request: CheckpointRequestMessage;
    try {
      request = toRequest(arg, sub);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.chain.then(() => this.session.exchange(request));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
  }
}

function toRequest(arg: CheckpointArg, sub: number | undefined): CheckpointRequestMessage {
  if (arg === undefined) return { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null };
  if (typeof arg === 'string') return { action: 'checkpoint', sequenceNumber: arg, subSequenceNumber: sub ?? null };
  if (arg !== null && typeof arg === 'object' && typeof arg.sequenceNumber === 'string') {
    return { action: 'checkpoint', sequenceNumber: arg.sequenceNumber, subSequenceNumber: arg.subSequenceNumber ?? 0 };
  }
  throw new IllegalArgumentException('invalid checkpoint argument: expected a sequence number string or a record');
}

function position(sequenceNumber: string, subSequenceNumber: number | null | undefined): ExtendedSequenceNumber {
  return { sequenceNumber, subSequenceNumber: subSequenceNumber ?? 0 };
}

function toRecord(msg: RecordMessage): KinesisClientRecord {
  return new ProtocolRecord(msg.data ?? '', msg.partitionKey, msg.sequenceNumber, msg.subSequenceNumber, msg.approximateArrivalTimestamp);
}

/**
 * A record as the daemon sent it, its data still base64 text until the processor asks for it. A batch is up to
 * 10,000 records that live until processRecords returns; decoding each record's data when it is used, not all
 * up front, lets the copy die young instead of being carried through the collector with the whole batch
 * (docs/performance.md, 'The daemon's throughput, and the kcl-ts child').
 */
class ProtocolRecord implements KinesisClientRecord {
  readonly aggregated = false;
  private decoded: Buffer | undefined;
  private arrival: Date | undefined;

  constructor(
    private readonly base64: string,
    readonly partitionKey: string,
    readonly sequenceNumber: string,
    readonly subSequenceNumber: number,
    private readonly arrivalMillis: number,
  ) {}

  get data(): Buffer {
    return (this.decoded ??= Buffer.from(this.base64, 'base64'));
  }

  get approximateArrivalTimestamp(): Date {
    return (this.arrival ??= new Date(this.arrivalMillis));
  }

  text(): string {
    return (this.decoded ?? Buffer.from(this.base64, 'base64')).toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
