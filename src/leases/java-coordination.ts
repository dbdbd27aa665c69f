/**
 * Detects a Java KCL 3.x fleet whose leader is coordinating the lease table (see docs/lease-protocol.md,
 * 'Java KCL 3.x tables'). Such a leader assigns leases itself and would fight our 2.x-protocol taker, so a worker refuses to start
 * on that table; a 2.x-format table, or a Java fleet in 2.x-compatible mode, is shared safely. This module only
 * reads: it never writes, deletes or takes the Java coordination items.
 *
 * Java keeps two items, under hash key `leaseKey` in the lease table (3.5 single-table format) or under hash key
 * `key` in `<applicationName>-CoordinatorState` (3.0–3.4):
 * - `Migration3.0`: attribute `cv` is the fleet's client version. Only CLIENT_VERSION_3X and
 *   CLIENT_VERSION_3X_WITH_ROLLBACK mean the leader assigns leases; the other values run the 2.x taker.
 * - `Leader`: an amazon-dynamodb-lock-client lock (`ownerName`, `leaseDuration` in milliseconds as a string,
 *   `recordVersionNumber` renewed on every heartbeat, `isReleased` = "1" once released). As the lock client does,
 *   a lock is alive if its `recordVersionNumber` changes within `leaseDuration`, and stale if it does not.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AWS_DEADLINES, callAws } from '../aws/call.js';
import { awsErrorKind } from '../aws/errors.js';
import type { Clock } from '../common/clock.js';
import { InvalidStateException } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { Item } from './serializer.js';
import { sendArgs } from '../aws/call-signal.js';

export const MIGRATION_ITEM_KEY = 'Migration3.0';
export const LEADER_ITEM_KEY = 'Leader';
export const CLIENT_VERSION_ATTRIBUTE = 'cv';
/** Client versions in which the Java leader assigns leases (no 2.x taker runs). */
export const LEADER_ASSIGNED_CLIENT_VERSIONS: ReadonlySet<string> = new Set(['CLIENT_VERSION_3X', 'CLIENT_VERSION_3X_WITH_ROLLBACK']);
/** The 3.0–3.4 coordinator table name is `<applicationName>-` plus this suffix. */
export const COORDINATOR_STATE_TABLE_SUFFIX = '-CoordinatorState';
/** The Java KCL's default leader lock lease, used when an item's `leaseDuration` cannot be read. */
export const DEFAULT_LEADER_LEASE_MILLIS = 120_000;

export interface JavaCoordinationOptions {
  /** Java names the 3.0–3.4 table after the application: `<applicationName>-CoordinatorState` is checked too. */
  applicationName?: string;
  /** How often the leader lock is re-read while deciding whether it is alive. Default 5 s (never above a quarter of the lock's lease). */
  pollIntervalMillis?: number;
  /** Added to the lock's lease before it is judged stale. Default 1 s. */
  graceMillis?: number;
  /** Upper bound on the lease taken from a lock item, so a strange value cannot block start-up for long. Default 10 min. */
  maxLeaseDurationMillis?: number;
}

interface Location {
  table: string;
  hashKey: 'leaseKey' | 'key';
  /** false: a missing table means "nothing there". */
  required: boolean;
}

interface LockSnapshot {
  ownerName: string;
  recordVersionNumber: string;
  leaseDurationMillis: number;
}

/**
 * Resolves when this table can be shared with whatever Java KCL uses it; throws InvalidStateException when a
 * live Java KCL 3.x leader coordinates it. May wait up to the leader lock's lease (default 120 s) to decide.
 */
export async function checkNoActiveJava3Leader(
  dynamodb: DynamoDBClient,
  tableName: string,
  clock: Clock,
  logger: Logger,
  signal?: AbortSignal,
  options: JavaCoordinationOptions = {},
): Promise<void> {
  const locations: Location[] = [{ table: tableName, hashKey: 'leaseKey', required: true }];
  for (const base of new Set([options.applicationName ?? tableName, tableName])) {
    const table = base + COORDINATOR_STATE_TABLE_SUFFIX;
    if (table !== tableName) locations.push({ table, hashKey: 'key', required: false });
  }
  const read = (location: Location, key: string) => readItem(dynamodb, location, key, signal);

  // The client version: a leader in charge anywhere is enough to look further (refusing is the safe side).
  const versions: { location: Location; cv: string }[] = [];
  for (const location of locations) {
    const cv = (await read(location, MIGRATION_ITEM_KEY))?.[CLIENT_VERSION_ATTRIBUTE]?.S;
    if (cv !== undefined) versions.push({ location, cv });
  }
  const inCharge = versions.find((v) => LEADER_ASSIGNED_CLIENT_VERSIONS.has(v.cv));
  if (!inCharge) {
    if (versions.length > 0) {
      logger.info(
        { table: tableName, clientVersion: versions.map((v) => v.cv).join(', ') },
        'the Java KCL on this lease table runs in a 2.x-compatible mode (2.x lease taker); sharing the table',
      );
    }
    return;
  }
  const clientVersion = inCharge.cv;

  // The leader locks that are held (present and not released).
  const watched = new Map<Location, LockSnapshot>();
  for (const location of locations) {
    const lock = toLock(await read(location, LEADER_ITEM_KEY), options);
    if (lock) watched.set(location, lock);
  }
  if (watched.size === 0) {
    logger.info({ table: tableName, clientVersion }, 'the Java KCL 3.x client version is set but no Java leader holds the leader lock; sharing the table');
    return;
  }

  const lease = Math.max(...[...watched.values()].map((l) => l.leaseDurationMillis));
  const waitMillis = lease + (options.graceMillis ?? 1000);
  const poll = Math.max(50, Math.min(options.pollIntervalMillis ?? 5000, Math.floor(lease / 4)));
  const first = [...watched.entries()][0]!;
  logger.info(
    { table: tableName, lockTable: first[0].table, javaLeader: first[1].ownerName, clientVersion, waitMillis },
    `a Java KCL 3.x leader lock is held on this lease table; waiting up to ${waitMillis} ms to see whether the Java leader is alive`,
  );

  const deadline = clock.now() + waitMillis;
  while (watched.size > 0) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) break;
    await clock.sleep(Math.min(poll, remaining), signal);
    for (const [location, seen] of [...watched]) {
      const now = toLock(await read(location, LEADER_ITEM_KEY), options);
      if (!now) {
        logger.info({ table: tableName, lockTable: location.table, javaLeader: seen.ownerName }, 'the Java leader released its leader lock');
        watched.delete(location);
      } else if (now.recordVersionNumber !== seen.recordVersionNumber || now.ownerName !== seen.ownerName) {
        throw new InvalidStateException(refusal(tableName, location, now, clientVersion));
      }
    }
  }
  for (const [location, seen] of watched) {
    logger.warn(
      { table: tableName, lockTable: location.table, javaLeader: seen.ownerName, clientVersion, leaseDurationMillis: seen.leaseDurationMillis },
      'the Java KCL 3.x leader lock is stale (no heartbeat within its lease duration); assuming no Java leader is running and starting',
    );
  }
}

function refusal(tableName: string, location: Location, lock: LockSnapshot, clientVersion: string): string {
  const where = location.table === tableName ? 'in the lease table' : `in ${location.table}`;
  return (
    `lease table ${tableName} is coordinated by a running Java KCL 3.x fleet: its leader "${lock.ownerName}" holds and heartbeats ` +
    `the leader lock ${where} and the client version is ${clientVersion}, so its leader assigns the leases and would fight ` +
    `this worker's 2.x lease taker. To migrate: stop the Java KCL 3.x workers, or switch them to 2.x-compatible mode ` +
    `(roll the client version back with the KCL migration tool, KclMigrationTool.py --mode rollback, and run them with ` +
    `clientVersionConfig = CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X, which runs the 2.x lease taker); wait until the leader ` +
    `lock (${lock.leaseDurationMillis} ms) and the Java workers' leases have expired; then start these workers. ` +
    `The checkpoints in the table are kept.`
  );
}

/** A held lock from a `Leader` item; undefined when there is none, it is released, or it is not a lock item. */
function toLock(item: Item | undefined, options: JavaCoordinationOptions): LockSnapshot | undefined {
  if (!item || item.isReleased?.S === '1') return undefined;
  const recordVersionNumber = item.recordVersionNumber?.S;
  if (recordVersionNumber === undefined) return undefined;
  const raw = item.leaseDuration?.S;
  const parsed = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
  const lease = Number.isSafeInteger(parsed) && parsed > 0 ? parsed : DEFAULT_LEADER_LEASE_MILLIS;
  return {
    ownerName: item.ownerName?.S ?? '(unknown)',
    recordVersionNumber,
    leaseDurationMillis: Math.min(lease, options.maxLeaseDurationMillis ?? 600_000),
  };
}

async function readItem(dynamodb: DynamoDBClient, location: Location, key: string, signal?: AbortSignal): Promise<Item | undefined> {
  const input = { TableName: location.table, Key: { [location.hashKey]: { S: key } }, ConsistentRead: true };
  try {
    const out = await callAws({ service: 'dynamodb', operation: 'GetItem', what: `GetItem ${key} from ${location.table}`, deadlineMillis: AWS_DEADLINES.dynamoRead, signal }, (abortSignal) =>
      dynamodb.send(...sendArgs(dynamodb, new GetItemCommand(input), abortSignal)),
    );
    return out.Item;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    // The 3.0–3.4 table usually does not exist, and IAM policies written for the lease table alone do not
    // cover it: neither may stop a worker that has nothing to do with a Java 3.x fleet.
    const kind = awsErrorKind(err);
    if (!location.required && (kind === 'not-found' || kind === 'access-denied')) return undefined;
    throw err;
  }
}
