/**
 * LeaseTable is the only code that reads and writes lease items in DynamoDB (the LeaseStore seam). Every write
 * on an existing lease is an UpdateItem conditioned on the `leaseCounter` the caller last saw (see
 * docs/lease-protocol.md, 'Fencing'), so a worker that lost a lease can never overwrite the new holder's state,
 * and attributes we do not know (written by a Java KCL) survive. A conditional failure is returned as `false`
 * (or undefined); other failures throw the library's error family.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { ExtendedSequenceNumber } from '../checkpoint/sequence.js';
import { AWS_DEADLINES, callAws, type AwsCallOutcome } from '../aws/call.js';
import { awsErrorKind } from '../aws/errors.js';
import { InvalidStateException } from '../common/errors.js';
import type { Clock } from '../common/clock.js';
import type { Lease } from './lease.js';
import type { HandoffWriteOptions, LeaseStore } from './lease-store.js';
import { itemToLease, leaseToItem, LEASE_ENTITY_TYPE, type Item } from './serializer.js';
import { sendArgs } from '../aws/call-signal.js';

export interface LeaseTableOptions {
  /**
   * Deadline of one lease write. A renewal or checkpoint answered later than its renewal period is worth
   * nothing (and holds up the lease's next write), so the worker passes that period. Default 3 s.
   */
  readonly writeDeadlineMillis?: number;
  /** Aborts every call in flight (the worker's hard stop). */
  readonly signal?: AbortSignal;
  readonly onCall?: (outcome: AwsCallOutcome) => void;
}

/** What each plain call is for, on the `aws.call` event; every UpdateItem names its own (renew, take, checkpoint, ...). */
const PURPOSE_OF: Readonly<Record<string, string>> = { Scan: 'scan', GetItem: 'get', PutItem: 'put', DeleteItem: 'delete', CreateTable: 'create-table', DescribeTable: 'describe-table' };

export class LeaseTable implements LeaseStore {
  private readonly writeDeadlineMillis: number;

  constructor(
    private readonly dynamodb: DynamoDBClient,
    readonly tableName: string,
    private readonly clock: Clock,
    private readonly options: LeaseTableOptions = {},
  ) {
    this.writeDeadlineMillis = options.writeDeadlineMillis ?? 3_000;
  }

  /** One DynamoDB call with its deadline; failures arrive classified (kinds in aws/errors.ts). */
  private call<T>(
    operation: string,
    what: string,
    deadlineMillis: number,
    send: (abortSignal: AbortSignal) => Promise<T>,
    signal = this.options.signal,
    purpose: string = PURPOSE_OF[operation] ?? operation,
  ): Promise<T> {
    return callAws({ service: 'dynamodb', operation, purpose, what: `${what} (table ${this.tableName})`, deadlineMillis, signal, onOutcome: this.options.onCall }, send);
  }

  /** Creates the table (on-demand, hash key `leaseKey`) if missing and waits until it is usable. */
  async createTableIfNotExists(signal?: AbortSignal, timeoutMillis = 600_000): Promise<void> {
    let status = await this.tableStatus(signal);
    if (status === undefined) {
      try {
        const input = {
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' as const }],
          KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' as const }],
          BillingMode: 'PAY_PER_REQUEST' as const,
        };
        await this.call('CreateTable', 'create the lease table', AWS_DEADLINES.dynamoAdmin, (abortSignal) => this.dynamodb.send(...sendArgs(this.dynamodb, new CreateTableCommand(input), abortSignal)), signal);
      } catch (err) {
        // Another worker created it first: that is fine.
        if (awsErrorKind(err) !== 'in-use') throw err;
      }
      status = await this.tableStatus(signal);
    }
    const deadline = this.clock.now() + timeoutMillis;
    let wait = 100;
    while (status !== 'ACTIVE' && status !== 'UPDATING') {
      if (this.clock.now() > deadline) throw new InvalidStateException(`lease table ${this.tableName} is not ACTIVE after ${timeoutMillis} ms (status ${status})`);
      await this.clock.sleep(wait, signal);
      wait = Math.min(wait * 2, 10_000);
      status = await this.tableStatus(signal);
    }
  }

  private async tableStatus(signal?: AbortSignal): Promise<string | undefined> {
    try {
      const out = await this.call('DescribeTable', 'describe the lease table', AWS_DEADLINES.dynamoAdmin, (abortSignal) => this.dynamodb.send(...sendArgs(this.dynamodb, new DescribeTableCommand({ TableName: this.tableName }), abortSignal)), signal);
      return out.Table?.TableStatus ?? 'UNKNOWN';
    } catch (err) {
      if (awsErrorKind(err) === 'not-found') return undefined;
      throw err;
    }
  }

  /** Every lease in the table (non-lease items skipped), following scan pagination. */
  async listLeases(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let startKey: Item | undefined;
    do {
      const input = { TableName: this.tableName, ExclusiveStartKey: startKey };
      const out = await this.call('Scan', 'scan the leases', AWS_DEADLINES.dynamoRead, (abortSignal) => this.dynamodb.send(...sendArgs(this.dynamodb, new ScanCommand(input), abortSignal)));
      for (const item of out.Items ?? []) {
        const lease = itemToLease(item);
        if (lease) leases.push(lease);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return leases;
  }

  async getLease(leaseKey: string): Promise<Lease | undefined> {
    const input = { TableName: this.tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true };
    const out = await this.call('GetItem', `read lease ${leaseKey}`, AWS_DEADLINES.dynamoRead, (abortSignal) => this.dynamodb.send(...sendArgs(this.dynamodb, new GetItemCommand(input), abortSignal)));
    return out.Item ? itemToLease(out.Item) : undefined;
  }

  /** Creates a lease unless one with the same key exists; returns false when it existed. */
  async createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    const input = { TableName: this.tableName, Item: leaseToItem(lease), ConditionExpression: 'attribute_not_exists(leaseKey)' };
    try {
      await this.call('PutItem', `create lease ${lease.leaseKey}`, this.writeDeadlineMillis, (abortSignal) => this.dynamodb.send(...sendArgs(this.dynamodb, new PutItemCommand(input), abortSignal)));
      return true;
    } catch (err) {
      if (awsErrorKind(err) === 'conditional-check-failed') return false;
      throw err;
    }
  }

  /**
   * Heartbeat: raises the counter if it is still the one we hold and no hand-off is pending. Once the holder
   * knows it is handing the lease over (`handoffPending`), it renews on the counter alone until it completes
   * the hand-off.
   */
  renewLease(lease: Lease, options: HandoffWriteOptions = {}): Promise<Lease | undefined> {
    return this.fencedUpdate(lease, 'renew', {
      condition: options.handoffPending ? 'leaseCounter = :ctr' : 'leaseCounter = :ctr AND attribute_not_exists(checkpointOwner)',
      set: {},
    });
  }

  /**
   * Asks the holder to hand a lease over (see docs/lease-protocol.md, 'Graceful hand-off'): leaseOwner becomes
   * the requester, checkpointOwner the current holder. The counter is left alone so the holder's heartbeat goes
   * on; its next renewal fails on the checkpointOwner clause, which is how it learns. False when the lease
   * moved since it was read.
   */
  async requestHandoff(lease: Lease, requester: string): Promise<boolean> {
    if (!lease.leaseOwner) return false;
    return this.unfencedUpdate(lease.leaseKey, 'handoff-request', {
      condition: '#ctr = :ctr AND #owner = :from AND attribute_not_exists(#co)',
      update: 'SET #owner = :to, #co = :from',
      names: { '#ctr': 'leaseCounter', '#owner': 'leaseOwner', '#co': 'checkpointOwner' },
      values: { ':ctr': { N: String(lease.leaseCounter) }, ':from': { S: lease.leaseOwner }, ':to': { S: requester } },
    });
  }

  /**
   * Withdraws a hand-off this worker requested (it is shutting down): the lease becomes unowned so any worker
   * takes it at its next scan. The counter is left alone; the holder's completion then fails harmlessly.
   */
  withdrawHandoff(leaseKey: string, requester: string, holder: string): Promise<boolean> {
    return this.unfencedUpdate(leaseKey, 'handoff-withdraw', {
      condition: '#owner = :me AND #co = :from',
      update: 'REMOVE #owner, #co',
      names: { '#owner': 'leaseOwner', '#co': 'checkpointOwner' },
      values: { ':me': { S: requester }, ':from': { S: holder } },
    });
  }

  /**
   * Completes a hand-off from the holder's side after its final checkpoint: removes checkpointOwner and raises
   * the counter, so the requester (already leaseOwner) may start. Fenced on the counter and on both names.
   */
  async completeHandoff(lease: Lease, holder: string, requester: string): Promise<Lease | undefined> {
    return this.fencedUpdate(
      lease,
      'handoff-complete',
      {
        condition: 'leaseCounter = :ctr AND leaseOwner = :requester AND checkpointOwner = :holder',
        values: { ':requester': { S: requester }, ':holder': { S: holder } },
        set: {},
        remove: ['checkpointOwner'],
        add: { ownerSwitchesSinceCheckpoint: { N: '1' } },
      },
      (l) => ({ ...l, leaseOwner: requester, checkpointOwner: undefined, ownerSwitchesSinceCheckpoint: l.ownerSwitchesSinceCheckpoint + 1 }),
    );
  }

  /** Takes a lease (unowned, expired or stolen) for `owner`, fenced on the counter this worker observed. */
  takeLease(lease: Lease, owner: string): Promise<Lease | undefined> {
    const switching = lease.leaseOwner !== owner;
    return this.fencedUpdate(
      lease,
      'take',
      {
        condition: 'leaseCounter = :ctr',
        set: { leaseOwner: { S: owner } },
        remove: ['checkpointOwner'],
        add: switching ? { ownerSwitchesSinceCheckpoint: { N: '1' } } : undefined,
      },
      (l) => ({ ...l, leaseOwner: owner, checkpointOwner: undefined, ownerSwitchesSinceCheckpoint: l.ownerSwitchesSinceCheckpoint + (switching ? 1 : 0) }),
    );
  }

  /**
   * Writes a checkpoint; clears any pending (prepared) checkpoint and the owner-switch count. Like a renewal it
   * fails while a hand-off is pending and the holder does not know yet (`handoffPending` false), so a busy
   * shard learns of a hand-off request at its next checkpoint.
   */
  updateCheckpoint(lease: Lease, checkpoint: ExtendedSequenceNumber, childShardIds?: readonly string[], options: HandoffWriteOptions = {}): Promise<Lease | undefined> {
    const set: Item = {
      checkpoint: { S: checkpoint.sequenceNumber },
      checkpointSubSequenceNumber: { N: String(checkpoint.subSequenceNumber) },
      ownerSwitchesSinceCheckpoint: { N: '0' },
    };
    if (childShardIds && childShardIds.length > 0) set.childShardIds = { SS: [...childShardIds] };
    return this.fencedUpdate(
      lease,
      'checkpoint',
      {
        condition: options.handoffPending ? 'leaseCounter = :ctr' : 'leaseCounter = :ctr AND attribute_not_exists(checkpointOwner)',
        set,
        remove: ['pendingCheckpoint', 'pendingCheckpointSubSequenceNumber', 'pendingCheckpointState'],
      },
      (l) => ({ ...l, checkpoint, pendingCheckpoint: undefined, ownerSwitchesSinceCheckpoint: 0, childShardIds: childShardIds ?? l.childShardIds }),
    );
  }

  /**
   * Gives a lease up so another worker can take it at once (the Java KCL only lets it expire). Fenced on both
   * counter and owner: we only release what we still hold.
   */
  async releaseLease(lease: Lease, owner: string): Promise<boolean> {
    const out = await this.fencedUpdate(
      lease,
      'release',
      { condition: 'leaseCounter = :ctr AND leaseOwner = :owner', values: { ':owner': { S: owner } }, set: {}, remove: ['leaseOwner'] },
      (l) => ({ ...l, leaseOwner: undefined }),
    );
    return out !== undefined;
  }

  /** Sets attributes that are not fenced (childShardIds, hash range): the Java "meta update". */
  async updateMeta(leaseKey: string, set: Item): Promise<void> {
    const names: Record<string, string> = {};
    const values: Item = {};
    const parts = Object.entries(set).map(([k, v], i) => {
      names[`#m${i}`] = k;
      values[`:m${i}`] = v;
      return `#m${i} = :m${i}`;
    });
    await this.unfencedUpdate(leaseKey, 'meta', { condition: 'attribute_exists(leaseKey)', update: `SET ${parts.join(', ')}`, names, values });
  }

  /**
   * A conditional UpdateItem that leaves the counter alone (hand-off requests and withdrawals, meta updates).
   * Returns false when the condition failed; other failures throw the library's error family.
   */
  private async unfencedUpdate(
    leaseKey: string,
    what: string,
    spec: { condition: string; update: string; names: Record<string, string>; values: Item },
  ): Promise<boolean> {
    const input: UpdateItemCommandInput = {
      TableName: this.tableName,
      Key: { leaseKey: { S: leaseKey } },
      ConditionExpression: spec.condition,
      UpdateExpression: spec.update,
      ExpressionAttributeNames: spec.names,
      ExpressionAttributeValues: spec.values,
    };
    return this.conditionalUpdate(what, `${what} lease ${leaseKey}`, input);
  }

  async deleteLease(leaseKey: string): Promise<void> {
    const input = { TableName: this.tableName, Key: { leaseKey: { S: leaseKey } } };
    await this.call('DeleteItem', `delete lease ${leaseKey}`, this.writeDeadlineMillis, (abortSignal) => this.dynamodb.send(...sendArgs(this.dynamodb, new DeleteItemCommand(input), abortSignal)));
  }

  /**
   * One conditional UpdateItem that raises `leaseCounter` by one. Returns the lease as it is after the write,
   * or undefined when the condition failed (someone else moved the counter: the lease is not ours as seen).
   */
  private async fencedUpdate(
    lease: Lease,
    what: string,
    spec: { condition: string; set: Item; remove?: string[]; add?: Item; values?: Item },
    apply: (l: Lease) => Lease = (l) => l,
  ): Promise<Lease | undefined> {
    const names: Record<string, string> = { '#ctr': 'leaseCounter', '#et': 'entityType' };
    const values: Item = { ':ctr': { N: String(lease.leaseCounter) }, ':next': { N: String(lease.leaseCounter + 1) }, ':et': { S: LEASE_ENTITY_TYPE }, ...spec.values };
    const sets = ['#ctr = :next', '#et = :et'];
    Object.entries(spec.set).forEach(([k, v], i) => {
      names[`#s${i}`] = k;
      values[`:s${i}`] = v;
      sets.push(`#s${i} = :s${i}`);
    });
    let expression = `SET ${sets.join(', ')}`;
    if (spec.remove?.length) {
      expression += ` REMOVE ${spec.remove.map((k, i) => ((names[`#r${i}`] = k), `#r${i}`)).join(', ')}`;
    }
    if (spec.add) {
      expression += ` ADD ${Object.entries(spec.add)
        .map(([k, v], i) => {
          names[`#a${i}`] = k;
          values[`:a${i}`] = v;
          return `#a${i} :a${i}`;
        })
        .join(', ')}`;
    }
    const condition = spec.condition.replace(/\bleaseCounter\b/g, '#ctr');
    const input: UpdateItemCommandInput = {
      TableName: this.tableName,
      Key: { leaseKey: { S: lease.leaseKey } },
      ConditionExpression: condition,
      UpdateExpression: expression,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    if (!(await this.conditionalUpdate(what, `${what} lease ${lease.leaseKey}`, input))) return undefined;
    return { ...apply(lease), leaseCounter: lease.leaseCounter + 1 };
  }

  /** An UpdateItem with a condition: false when the condition failed, a classified error for anything else. */
  private async conditionalUpdate(purpose: string, what: string, input: UpdateItemCommandInput): Promise<boolean> {
    try {
      await this.call('UpdateItem', what, this.writeDeadlineMillis, (abortSignal) => this.dynamodb.send(...sendArgs(this.dynamodb, new UpdateItemCommand(input), abortSignal)), undefined, purpose);
      return true;
    } catch (err) {
      if (awsErrorKind(err) === 'conditional-check-failed') return false;
      throw err;
    }
  }
}
