/**
 * The daemon side of the multi-language protocol: a RecordProcessor that runs the user's executable as a
 * child process for one shard and drives it over stdin/stdout (docs/daemon-protocol.md, 'Child lifecycle').
 *
 * Where the Java daemon kills itself (a child that crashes, exits, closes stdout, answers for the wrong
 * action or goes silent past `timeoutInSeconds`), this processor kills and reaps that one child and throws
 * ProcessorFailedException: the worker then starts a fresh child for the same lease from the last checkpoint,
 * and every other shard keeps running. Non-JSON lines on the child's stdout are logged and skipped; its
 * stderr is relayed line by line with the shard id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { ProcessorFailedException } from '../common/errors.js';
import { killOnProcessExit, terminate, whenExited, within, type ChildExit } from '../common/child-process.js';
import type { Logger } from '../common/logger.js';
import type {
  Checkpointer,
  InitializationInput,
  LeaseLostInput,
  ProcessRecordsInput,
  RecordProcessor,
  ShardEndedInput,
  ShutdownRequestedInput,
} from '../processor/types.js';
import { forEachLine, LineSplitter } from '../common/lines.js';
import { decodeChildLine, encodeDaemonMessage } from './codec.js';
import type { CheckpointRequestMessage, ChildMessage, DaemonAction, DaemonMessage } from './messages.js';
import { writeChunks } from './pipe-writer.js';
import { processRecordsLine } from './records-line.js';

export interface MultiLangProcessorOptions {
  /** The properties file's `executableName`: split on spaces, no shell, looked up on PATH. */
  executableName: string;
  /** Upper bound on waiting for each message from the child; undefined = wait for ever (as Java). */
  timeoutInSeconds?: number;
  /** After stdin is closed, how long the child may take to exit before it is killed. Default 10 s. */
  exitTimeoutMillis?: number;
  logger: Logger;
  /** Where the child's stderr lines go, prefixed with the shard id. Default: the daemon's stderr. */
  stderr?: Writable;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Splits `executableName` exactly as the Java daemon does: on runs of the space character only. */
export function splitExecutable(executableName: string): string[] {
  const parts = executableName.split(/ +/);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

type Waiter = (outcome: { message: ChildMessage } | { ended: string }) => void;

/** One protocol line as bytes (every daemon line is ASCII: non-ASCII is escaped). */
function lineOf(message: DaemonMessage): Buffer[] {
  return [Buffer.from(`${encodeDaemonMessage(message)}\n`, 'latin1')];
}

/** One running child: its message queue, its exit, and how to stop it. */
class ChildConnection {
  private readonly queue: ChildMessage[] = [];
  private waiter: Waiter | undefined;
  private endReason: string | undefined;
  /** Writers waiting for the pipe to drain; told when the child ends, so that they stop waiting. */
  private readonly endListeners = new Set<() => void>();
  readonly exited: Promise<ChildExit>;

  constructor(
    readonly proc: ChildProcess,
    private readonly shardId: string,
    private readonly logger: Logger,
    stderr: Writable,
  ) {
    killOnProcessExit(proc);
    this.exited = whenExited(proc);
    proc.once('error', (err) => this.end(`the child process could not be run: ${err.message}`));
    void this.exited.then(({ code, signal }) => this.end(`the child process exited (${signal ? `signal ${signal}` : `exit code ${code}`})`));
    proc.stdin?.on('error', () => undefined); // EPIPE after the child died; noticed through its exit
    const out = new LineSplitter();
    proc.stdout?.on('data', (chunk: Buffer) => out.push(chunk).forEach((line) => this.onLine(line)));
    proc.stdout?.once('end', () => {
      out.end().forEach((line) => this.onLine(line));
      // A child that closed its stdout can never answer again, even if it is still running. Stdout usually
      // closes because the process is exiting: give the exit a moment to be the reason reported.
      setTimeout(() => this.end('the child closed its stdout'), 200).unref();
    });
    if (proc.stderr) forEachLine(proc.stderr, (line) => stderr.write(`[${shardId}] ${line}\n`));
  }

  private onLine(line: string): void {
    const decoded = decodeChildLine(line);
    if (decoded.kind === 'blank') return;
    if (decoded.kind === 'garbage') {
      this.logger.warn({ shardId: this.shardId, line: line.slice(0, 500), reason: decoded.reason }, 'skipping a line on the child stdout that is not a protocol message');
      return;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ message: decoded.message });
    } else {
      this.queue.push(decoded.message);
    }
  }

  private end(reason: string): void {
    this.endReason ??= reason;
    for (const listener of this.endListeners) listener();
    if (this.waiter && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ ended: this.endReason });
    }
  }

  /** The next message, or why none will come; bounded by `timeoutMillis` when given. */
  next(timeoutMillis: number | undefined): Promise<{ message: ChildMessage } | { ended: string }> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ message: queued });
    if (this.endReason) return Promise.resolve({ ended: this.endReason });
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.waiter = (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      if (timeoutMillis !== undefined) {
        timer = setTimeout(() => {
          this.waiter = undefined;
          resolve({ ended: `no message from the child within ${timeoutMillis / 1000} s (timeoutInSeconds)` });
        }, timeoutMillis);
      }
    });
  }

  /**
   * Writes one message with backpressure (pipe-writer.ts). Resolves to why it could not be written: stdin
   * closed, the child gone, or no progress for `timeoutMillis` (the bound on waiting for a message applies to
   * waiting for the child to read, too); undefined when it was all handed to the pipe.
   */
  write(chunks: Iterable<Uint8Array>, timeoutMillis: number | undefined): Promise<string | undefined> {
    const stdin = this.proc.stdin;
    if (!stdin) return Promise.resolve('its stdin is closed');
    return writeChunks(stdin, chunks, {
      timeoutMillis,
      onStop: (listener) => {
        if (this.endReason !== undefined) {
          listener(this.endReason);
          return () => undefined;
        }
        const onEnd = () => listener(this.endReason ?? 'the child ended');
        this.endListeners.add(onEnd);
        return () => this.endListeners.delete(onEnd);
      },
    });
  }

  /** Closes stdin and waits for the exit; a child that ignores EOF is terminated, then killed. */
  async close(exitTimeoutMillis: number): Promise<ChildExit> {
    this.proc.stdin?.end();
    if (!(await within(this.exited, exitTimeoutMillis))) {
      this.logger.warn({ shardId: this.shardId, pid: this.proc.pid }, 'child did not exit after its stdin was closed; terminating it');
      await terminate(this.proc, this.exited, 2_000);
    }
    return this.exited;
  }

  kill(): Promise<ChildExit> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}

/** Drives one child process for one shard; create one per shard lease (a RecordProcessorFactory product). */
export class MultiLangRecordProcessor implements RecordProcessor {
  private child: ChildConnection | undefined;
  private shardId = '';

  constructor(private readonly options: MultiLangProcessorOptions) {}

  async initialize(input: InitializationInput): Promise<void> {
    this.shardId = input.shardId;
    this.child = this.start();
    const { sequenceNumber, subSequenceNumber } = input.extendedSequenceNumber;
    await this.call('initialize', lineOf({ action: 'initialize', shardId: input.shardId, sequenceNumber, subSequenceNumber }), undefined);
  }

  async processRecords(input: ProcessRecordsInput): Promise<void> {
    await this.call('processRecords', processRecordsLine(input.records, input.millisBehindLatest), input.checkpointer);
  }

  async leaseLost(_input: LeaseLostInput): Promise<void> {
    // Lost before initialize ran: no child was started and nothing is sent (as in the Java daemon).
    if (!this.child) return;
    try {
      await this.call('leaseLost', lineOf({ action: 'leaseLost' }), undefined);
    } finally {
      await this.closeChild();
    }
  }

  async shardEnded(input: ShardEndedInput): Promise<void> {
    try {
      await this.call('shardEnded', lineOf({ action: 'shardEnded' }), input.checkpointer);
    } finally {
      await this.closeChild();
    }
  }

  /**
   * The child may checkpoint; then, as the Java daemon does, it gets `leaseLost` (the lease is being given up)
   * and its stdin is closed. Failures here are logged, not fatal: the lease is released either way.
   */
  async shutdownRequested(input: ShutdownRequestedInput): Promise<void> {
    if (!this.child) return;
    try {
      await this.call('shutdownRequested', lineOf({ action: 'shutdownRequested' }), input.checkpointer);
      await this.call('leaseLost', lineOf({ action: 'leaseLost' }), undefined);
    } catch (err) {
      this.options.logger.warn({ shardId: this.shardId, err: err instanceof Error ? err.message : String(err) }, 'child failed during shutdownRequested');
    } finally {
      await this.closeChild();
    }
  }

  private start(): ChildConnection {
    const [command, ...args] = splitExecutable(this.options.executableName);
    if (!command) throw new ProcessorFailedException(`executableName "${this.options.executableName}" names no program`);
    const proc = spawn(command, args, {
      shell: false,
      cwd: this.options.cwd ?? process.cwd(),
      env: this.options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal (or a signal to the daemon's group) must reach only
      // the daemon, which then runs shutdownRequested on the child; a child killed first cannot checkpoint.
      // Children never outlive the daemon: they are killed on its exit and see EOF if it is killed.
      detached: true,
    });
    this.options.logger.info({ shardId: this.shardId, pid: proc.pid, executable: this.options.executableName }, 'started child process');
    return new ChildConnection(proc, this.shardId, this.options.logger, this.options.stderr ?? process.stderr);
  }

  /** Sends one action (its encoded line) and serves the child's checkpoint requests until its matching status arrives. */
  private async call(action: DaemonAction, line: Iterable<Uint8Array>, checkpointer: Checkpointer | undefined): Promise<void> {
    const child = this.child;
    if (!child) throw new ProcessorFailedException(`no child process for ${this.shardId} (initialize was not called)`);
    const timeout = this.options.timeoutInSeconds !== undefined ? this.options.timeoutInSeconds * 1000 : undefined;
    const unsent = await child.write(line, timeout);
    if (unsent !== undefined) await this.fail(child, action, unsent);
    for (;;) {
      const next = await child.next(timeout);
      if ('ended' in next) return this.fail(child, action, next.ended);
      const m = next.message;
      if (m.action === 'status') {
        if (m.responseFor === action) return;
        return this.fail(child, action, `it answered ${m.responseFor === undefined ? 'a status without responseFor' : `for "${m.responseFor}"`} while "${action}" was pending`);
      }
      if (m.action === 'checkpoint') {
        const unanswered = await child.write(lineOf(await this.checkpoint(m, checkpointer)), timeout);
        if (unanswered !== undefined) return this.fail(child, action, unanswered);
      }
      // Other valid messages (a child echoing an action) are ignored, as the Java daemon does.
    }
  }

  /** Carries out a checkpoint request; the reply echoes the request's values and names any error as Java does. */
  private async checkpoint(request: CheckpointRequestMessage, checkpointer: Checkpointer | undefined): Promise<DaemonMessage> {
    const reply = (error: string | null): DaemonMessage => ({
      action: 'checkpoint',
      sequenceNumber: request.sequenceNumber,
      subSequenceNumber: request.subSequenceNumber,
      error,
    });
    if (!checkpointer) return reply('InvalidStateException');
    try {
      if (request.sequenceNumber === null) await checkpointer.checkpoint();
      else await checkpointer.checkpoint(request.sequenceNumber, request.subSequenceNumber ?? 0);
      return reply(null);
    } catch (err) {
      const name = err instanceof Error ? err.name : 'KinesisClientLibDependencyException';
      this.options.logger.info({ shardId: this.shardId, error: name, sequenceNumber: request.sequenceNumber }, 'checkpoint requested by the child failed');
      return reply(name);
    }
  }

  /** Reports the child's failure with its shard and exit status, makes sure it is gone, and gives up the processor. */
  private async fail(child: ChildConnection, action: string, why: string): Promise<never> {
    const { code, signal } = await child.kill();
    if (this.child === child) this.child = undefined;
    const status = signal ? `signal ${signal}` : `exit code ${code}`;
    this.options.logger.error({ shardId: this.shardId, action, pid: child.proc.pid, exitCode: code, signal }, `child process for ${this.shardId} failed during ${action}: ${why} (${status})`);
    throw new ProcessorFailedException(`child process for ${this.shardId} failed during ${action}: ${why} (${status})`);
  }

  private async closeChild(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    const { code, signal } = await child.close(this.options.exitTimeoutMillis ?? 10_000);
    this.options.logger.info({ shardId: this.shardId, exitCode: code, signal }, 'child process exited');
  }
}
