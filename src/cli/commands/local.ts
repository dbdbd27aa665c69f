/**
 * `kcl local`: runs kinesis-local and dynalite on loopback until interrupted. This file owns only the command
 * surface (options, the three stdout lines other tools parse, signal handling); the stack lives in local/.
 *
 * stdout carries exactly `kinesis <url>`, `dynamodb <url>`, `ready`; everything else goes to stderr.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../../common/logger.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { positiveInt } from '../common.js';

interface StreamSpec {
  name: string;
  shards: number;
}

interface LocalCliOptions {
  kinesisPort?: number;
  dynamodbPort?: number;
  stream?: StreamSpec[];
}

const DEFAULT_SHARDS = 4;
const MAX_SHARDS = 10_000; // the SHARD_LIMIT the stack gives kinesis-local

/** Parses one `--stream NAME[:SHARDS]` and appends it; names follow the Kinesis stream-name rules. */
function collectStream(value: string, previous: StreamSpec[] | undefined): StreamSpec[] {
  const m = /^([A-Za-z0-9_.-]{1,128})(?::(\d+))?$/.exec(value);
  if (!m || m[1] === undefined) {
    throw new InvalidArgumentError(`expected NAME or NAME:SHARDS (NAME: 1-128 of A-Z a-z 0-9 _ . -), got "${value}"`);
  }
  const shards = m[2] === undefined ? DEFAULT_SHARDS : Number(m[2]);
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new InvalidArgumentError(`shard count must be 1..${MAX_SHARDS}, got "${m[2]}"`);
  }
  if (previous?.some((s) => s.name === m[1])) throw new InvalidArgumentError(`stream "${m[1]}" given twice`);
  return [...(previous ?? []), { name: m[1], shards }];
}

export function registerLocal(program: Command): void {
  program
    .command('local')
    .description('Run a local Kinesis (kinesis-local) and DynamoDB (dynalite) until Ctrl-C; no Java, no Docker')
    .addOption(new Option('--kinesis-port <port>', 'Kinesis plain-HTTP port (default: a free port)').argParser(positiveInt('--kinesis-port')))
    .addOption(new Option('--dynamodb-port <port>', 'DynamoDB port on 127.0.0.1 (default: a free port)').argParser(positiveInt('--dynamodb-port')))
    .addOption(
      new Option('--stream <name[:shards]>', `create this stream if missing (repeatable; shards default ${DEFAULT_SHARDS})`)
        .argParser(collectStream),
    )
    .addHelpText(
      'after',
      [
        '',
        'Prints exactly three lines on stdout once everything is up:',
        '  kinesis http://127.0.0.1:<port>',
        '  dynamodb http://127.0.0.1:<port>',
        '  ready',
        'Logs go to stderr. Ctrl-C (SIGINT) or SIGTERM stops both emulators and exits 0',
        '(130 if interrupted before "ready"; 1 if kinesis-local dies on its own).',
        'All state is in memory and is lost on exit.',
        '',
        'WARNING: kinesis-local has no bind option. It listens on EVERY network interface,',
        'on the Kinesis port and on a second (TLS) port, with no authentication. Run it',
        'only on a machine and network you trust. dynalite listens on 127.0.0.1 only.',
        '',
        'Example:',
        '  kcl local --stream orders:4 --stream audit',
        '  kcl produce --stream orders --count 1000 --kinesis-endpoint http://127.0.0.1:<port>',
      ].join('\n'),
    )
    .action(async (opts: LocalCliOptions) => {
      const logger = createLogger({ pretty: true });
      const startup = new AbortController();
      let stack: LocalStack | undefined;
      let stopRequested: (() => void) | undefined;
      const stopSignal = new Promise<void>((resolve) => {
        stopRequested = resolve;
      });
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          logger.info({ signal: sig }, 'stopping');
          startup.abort(new Error(`interrupted by ${sig}`));
          stopRequested?.();
          return;
        }
        // A second signal while stopping: do not wait for the grace period.
        logger.warn('second signal: killing kinesis-local now');
        if (stack) {
          try {
            process.kill(stack.kinesisPid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);

      try {
        stack = await startLocalStack({
          kinesisPort: opts.kinesisPort,
          dynamodbPort: opts.dynamodbPort,
          streams: opts.stream ?? [],
          logger,
          signal: startup.signal,
        });
      } catch (err) {
        if (startup.signal.aborted) {
          // Interrupted during start-up: startLocalStack has already stopped what it started.
          process.exit(130);
        }
        throw err;
      }

      logger.info(
        { startupMillis: stack.startupMillis, streams: (opts.stream ?? []).map((s) => `${s.name}:${s.shards}`) },
        `local stack up; kinesis-local also listens on TLS port ${stack.ports.kinesisTls}, both on all interfaces`,
      );
      process.stdout.write(`kinesis ${stack.kinesisEndpoint}\ndynamodb ${stack.dynamodbEndpoint}\nready\n`);

      const outcome = await Promise.race([
        stopSignal.then(() => 'signal' as const),
        stack.kinesisExited.then((exit) => ({ exit })),
      ]);
      await stack.stop();
      if (outcome !== 'signal') {
        logger.error({ code: outcome.exit.code, signal: outcome.exit.signal }, 'kinesis-local exited on its own; stopping');
        process.exit(1);
      }
      logger.info('stopped');
      process.exit(0);
    });
}
