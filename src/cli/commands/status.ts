/**
 * `kcl status`: the lease table as an operator wants to read it, or as JSON for scripts.
 */
import type { Command } from 'commander';
import { createDynamoDBClient } from '../../aws/clients.js';
import { systemClock } from '../../common/clock.js';
import { InvalidStateException } from '../../common/errors.js';
import { LeaseTable } from '../../leases/lease-table.js';
import type { Lease } from '../../leases/lease.js';
import { addAwsOptions, awsClientOptions, type AwsCliOptions } from '../common.js';

interface StatusOptions extends AwsCliOptions {
  application: string;
  table?: string;
  json?: boolean;
}

export function leaseRow(lease: Lease): Record<string, string | number | string[] | null> {
  return {
    shardId: lease.leaseKey,
    owner: lease.leaseOwner ?? null,
    /** Set while a graceful hand-off is pending: the old owner, still finishing the shard. */
    checkpointOwner: lease.checkpointOwner ?? null,
    leaseCounter: lease.leaseCounter,
    checkpoint: lease.checkpoint.sequenceNumber,
    subSequenceNumber: lease.checkpoint.subSequenceNumber,
    parentShardIds: [...lease.parentShardIds],
    childShardIds: [...lease.childShardIds],
    ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint,
  };
}

export function formatLeaseTable(leases: readonly Lease[]): string {
  const header = ['SHARD', 'OWNER', 'COUNTER', 'CHECKPOINT', 'SUBSEQ', 'PARENTS'];
  const rows = leases.map((l) => [
    l.leaseKey,
    // A pending hand-off shows both: the new owner, and the old one still finishing the shard.
    l.checkpointOwner ? `${l.leaseOwner ?? '-'} (from ${l.checkpointOwner})` : (l.leaseOwner ?? '-'),
    String(l.leaseCounter),
    l.checkpoint.sequenceNumber,
    String(l.checkpoint.subSequenceNumber),
    l.parentShardIds.join(',') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function registerStatus(program: Command): void {
  addAwsOptions(
    program
      .command('status')
      .description('Print the lease table of an application: one row per lease with owner, counter, checkpoint and parents')
      .requiredOption('--application <name>', 'application name (the lease table is named after it)')
      .option('--table <name>', 'lease table name, when it differs from the application name')
      .option('--json', 'print JSON for scripts'),
  ).action(async (opts: StatusOptions) => {
    const dynamodb = createDynamoDBClient(awsClientOptions(opts));
    try {
      const table = new LeaseTable(dynamodb, opts.table ?? opts.application, systemClock);
      const leases = (
        await table.listLeases().catch((err: unknown) => {
          if (err instanceof InvalidStateException) {
            throw new Error(`no lease table named "${table.tableName}": check --application/--table (the first worker creates it)`);
          }
          throw err;
        })
      ).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ table: table.tableName, leases: leases.map(leaseRow) }, null, 2)}\n`);
      } else {
        process.stdout.write(`lease table ${table.tableName}: ${leases.length} leases\n${formatLeaseTable(leases)}\n`);
      }
    } finally {
      dynamodb.destroy();
    }
  });
}
