/**
 * `kcl produce`: writes test records to a stream (any endpoint: kcl local, another emulator, or AWS). This file
 * owns only the command surface; the producer itself is local/producer.ts, shared with the demo and the tests.
 *
 * stdout carries exactly one line at the end, `wrote N records to STREAM`; progress goes to stderr.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { createKinesisClient } from '../../aws/clients.js';
import { createLogger } from '../../common/logger.js';
import { produceRecords } from '../../local/producer.js';
import { addAwsOptions, awsClientOptions, positiveInt, type AwsCliOptions } from '../common.js';

interface ProduceCliOptions extends AwsCliOptions {
  stream: string;
  count: number;
  rate?: number;
  partitionKeys: number;
  aggregate?: number;
}

const PROGRESS_EVERY_MILLIS = 2_000;

function positiveNumber(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

export function registerProduce(program: Command): void {
  const cmd = program
    .command('produce')
    .description('Write JSON test records ({id, n, pk, seq, ts}) to a stream with PutRecords')
    .requiredOption('--stream <name>', 'stream to write to')
    .addOption(new Option('--count <n>', 'number of records').argParser(positiveInt('--count')).default(100))
    .addOption(new Option('--rate <perSecond>', 'records per second (default: as fast as the stream accepts)').argParser(positiveNumber('--rate')))
    .addOption(
      new Option('--partition-keys <k>', 'number of distinct partition keys pk-0..pk-(k-1), used round-robin')
        .argParser(positiveInt('--partition-keys'))
        .default(16),
    )
    .addOption(
      new Option('--aggregate <n>', 'pack up to n records of one partition key into each KPL-aggregated Kinesis record').argParser(positiveInt('--aggregate')),
    );
  addAwsOptions(cmd);
  cmd.addHelpText(
    'after',
    [
      '',
      '--dynamodb-endpoint is accepted (one set of options fits every command) and ignored.',
      'Failed entries are retried with backoff until written, never dropped; records of',
      'one key are written in seq order. At the end prints: wrote N records to STREAM',
      'Ctrl-C stops after the batch in flight, prints that line and exits 130.',
    ].join('\n'),
  );
  cmd.action(async (opts: ProduceCliOptions) => {
    const logger = createLogger({ pretty: true });
    const kinesis = createKinesisClient(awsClientOptions(opts));
    const controller = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(130); // second Ctrl-C: do not wait for the batch in flight
      logger.info({ signal: sig }, 'stopping after the batch in flight');
      controller.abort(new Error(`interrupted by ${sig}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let lastReport = performance.now();
    try {
      const result = await produceRecords(kinesis, {
        stream: opts.stream,
        count: opts.count,
        ratePerSecond: opts.rate,
        partitionKeys: opts.partitionKeys,
        aggregate: opts.aggregate,
        signal: controller.signal,
        onProgress: (written) => {
          const now = performance.now();
          if (now - lastReport >= PROGRESS_EVERY_MILLIS) {
            lastReport = now;
            logger.info({ stream: opts.stream, written, of: opts.count }, 'producing');
          }
        },
      });
      if (result.retriedEntries > 0) logger.info({ retriedEntries: result.retriedEntries }, 'some entries needed retries');
      process.stdout.write(`wrote ${result.written} records to ${opts.stream}\n`);
      if (controller.signal.aborted) process.exitCode = 130;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      kinesis.destroy();
    }
  });
}
