/**
 * This file owns the message shapes of the protocol (docs/daemon-protocol.md, 'Messages'). Field order in
 * the interfaces is the order the Java daemon writes them, which the codec reproduces.
 */

// ---- daemon → child -------------------------------------------------------------------------------------

/** The lease's checkpoint when the child starts: digits or a sentinel such as TRIM_HORIZON. */
export interface InitializeMessage {
  readonly action: 'initialize';
  readonly shardId: string;
  readonly sequenceNumber?: string | null;
  readonly subSequenceNumber?: number | null;
}

/** One user record inside `processRecords`; `action:"record"` is required because kclpy dispatches on it. */
export interface RecordMessage {
  readonly action: 'record';
  /** Standard base64 with padding; `""` for an empty payload. */
  readonly data: string | null;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  /** Integer milliseconds since the epoch (kclpy does int() on it, so never null when we send it). */
  readonly approximateArrivalTimestamp: number;
  readonly subSequenceNumber: number;
}

export interface ProcessRecordsMessage {
  readonly action: 'processRecords';
  readonly records: readonly RecordMessage[];
  readonly millisBehindLatest?: number | null;
}

export interface LeaseLostMessage {
  readonly action: 'leaseLost';
}

export interface ShardEndedMessage {
  readonly action: 'shardEnded';
}

export interface ShutdownRequestedMessage {
  readonly action: 'shutdownRequested';
}

/** The daemon's answer to a checkpoint request: echoes the request and names the Java exception, or null. */
export interface CheckpointResponseMessage {
  readonly action: 'checkpoint';
  readonly sequenceNumber?: string | null;
  readonly subSequenceNumber?: number | null;
  readonly error?: string | null;
}

/** Everything a 2.x/3.x daemon sends. */
export type DaemonMessage =
  | InitializeMessage
  | ProcessRecordsMessage
  | LeaseLostMessage
  | ShardEndedMessage
  | ShutdownRequestedMessage
  | CheckpointResponseMessage;

/** Actions that expect a `status` answer. */
export type DaemonAction = Exclude<DaemonMessage['action'], 'checkpoint'>;

/**
 * KCL 1.x daemons sent `shutdown` with a reason (docs/daemon-protocol.md, 'Messages'). Our daemon never emits it; the child runner
 * still understands it so a TypeScript child also works under an old Java daemon.
 */
export interface LegacyShutdownMessage {
  readonly action: 'shutdown';
  readonly reason: string | null;
}

/** What the child runner may read on its stdin. */
export type IncomingDaemonMessage = DaemonMessage | LegacyShutdownMessage;

// ---- child → daemon -------------------------------------------------------------------------------------

/**
 * The child finished the current action. `responseFor` is undefined when the child omitted it or sent null:
 * the line is still a status message, so the daemon can report the mismatch instead of waiting forever.
 */
export interface StatusMessage {
  readonly action: 'status';
  readonly responseFor: string | undefined;
}

/**
 * A checkpoint request. `sequenceNumber` null means "the largest permitted position"; `subSequenceNumber`
 * null means 0. Sequence numbers a child sent as JSON numbers arrive here as their exact decimal text.
 */
export interface CheckpointRequestMessage {
  readonly action: 'checkpoint';
  readonly sequenceNumber: string | null;
  readonly subSequenceNumber: number | null;
  /** Tolerated on input (Jackson's CheckpointMessage has the field); children have no reason to send it. */
  readonly error?: string | null;
}

/** A valid protocol message that is neither status nor checkpoint (a child echoing an action): ignored. */
export interface OtherChildMessage {
  readonly action: 'other';
  readonly echoedAction: string;
}

export type ChildMessage = StatusMessage | CheckpointRequestMessage | OtherChildMessage;
