/**
 * This file owns the local stack: one kinesis-local child process (Kinesis) and one in-process dynalite server
 * (DynamoDB). It owns the child for its whole life: it picks its ports, captures its output, waits for its
 * health check, and makes sure it is gone after stop(), after a failed start, and when this process exits.
 *
 * kinesis-local traps handled here (see docs/local-mode.md, 'The stack'):
 * - KINESIS_MOCK_CERT_PATH is resolved against the CWD, so it is set to an absolute path (and CWD = package dir).
 * - it always opens a TLS port besides the plain one, and binds both on every interface; there is no bind option.
 * - durations need units (`0ms`); a bare `0` and an empty INITIALIZE_STREAMS are fatal config errors.
 * - SHARD_LIMIT defaults to 50 open shards, which a test run exhausts.
 * - it does not exit on SIGTERM while clients hold keep-alive connections, hence SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createKinesisClient, LOCAL_REGION } from '../aws/clients.js';
import { systemClock } from '../common/clock.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { ensureStream } from './streams.js';
import { forEachLine } from '../common/lines.js';
import { killOnProcessExit, terminate, whenExited, within, type ChildExit } from '../common/child-process.js';

export interface LocalStackOptions {
  /** Plain-HTTP port for kinesis-local; a free one is picked when absent. */
  kinesisPort?: number;
  /** Port for dynalite on 127.0.0.1; a free one is picked when absent. */
  dynamodbPort?: number;
  /** Streams to create (if missing) once both emulators are healthy. */
  streams?: { name: string; shards: number }[];
  /** kinesis-local's own output goes here at debug level. Default: silent. */
  logger?: Logger;
  /** Aborts start-up (everything started so far is stopped). Has no effect once the stack is returned. */
  signal?: AbortSignal;
}

export interface LocalStack {
  /** e.g. `http://127.0.0.1:4568` (kinesis-local's plain port). */
  kinesisEndpoint: string;
  /** e.g. `http://127.0.0.1:4570` (dynalite). */
  dynamodbEndpoint: string;
  /** Process id of the kinesis-local child, so callers (tests) can check it is gone after stop(). */
  kinesisPid: number;
  /** Every port the stack listens on; kinesis-local's two are bound on all interfaces. */
  ports: { kinesis: number; kinesisTls: number; dynamodb: number };
  /** How long each part of start-up took, in milliseconds. */
  startupMillis: { kinesis: number; dynamodb: number; streams: number; total: number };
  /**
   * Settles when kinesis-local exits for any reason: after stop(), or on its own (a crash), which lets a
   * long-running caller notice that its emulator is gone.
   */
  kinesisExited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops both emulators and waits until the child has exited. Idempotent; never rejects. */
  stop(): Promise<void>;
}

const HEALTH_TIMEOUT_MILLIS = 30_000;
const HEALTH_POLL_MILLIS = 100;
const TERM_GRACE_MILLIS = 2_000;
const KILL_WAIT_MILLIS = 5_000;
const DYNALITE_CLOSE_MILLIS = 5_000;
const OUTPUT_LINES_KEPT = 50;
/** Only auto-picked ports can be retried: another process may grab a probed port before the child binds it. */
const PORT_RACE_ATTEMPTS = 3;

const requireFromHere = createRequire(import.meta.url);

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  path?: string;
}
type DynaliteFactory = (options: DynaliteOptions) => http.Server;

/** The DURATION settings kinesis-local knows; all set to `0ms` so streams and consumers change state at once. */
const ZERO_DURATIONS = [
  'CREATE_STREAM_DURATION',
  'DELETE_STREAM_DURATION',
  'SPLIT_SHARD_DURATION',
  'MERGE_SHARDS_DURATION',
  'UPDATE_SHARD_COUNT_DURATION',
  'REGISTER_STREAM_CONSUMER_DURATION',
  'DEREGISTER_STREAM_CONSUMER_DURATION',
  'START_STREAM_ENCRYPTION_DURATION',
  'STOP_STREAM_ENCRYPTION_DURATION',
  'UPDATE_STREAM_MODE_DURATION',
];

/**
 * Runs inside the child before kinesis-local (`--import`): when our end of its stdin pipe closes, which also
 * happens when this process is SIGKILLed and no exit handler can run, the child exits instead of lingering with
 * its ports open. The stdin handle is unref'd so that it does not keep a SIGTERMed child alive.
 */
const PARENT_WATCHDOG =
  "process.stdin.on('end',()=>process.exit(0));process.stdin.on('error',()=>{});process.stdin.resume();process.stdin.unref();";

/** The emulator packages: optional peer dependencies, so a production install of the library carries neither. */
const EMULATOR_PACKAGES = ['kinesis-local', 'dynalite'] as const;

/** Local mode was asked for but the emulators are not installed (a production install leaves them out). */
export class EmulatorsNotInstalledError extends Error {
  constructor(readonly missing: readonly string[]) {
    const ranges = peerRanges();
    const install = EMULATOR_PACKAGES.map((name) => (ranges[name] ? `${name}@${JSON.stringify(ranges[name])}` : name)).join(' ');
    super(
      `local mode needs the emulators ${missing.join(' and ')}, which are not installed (they are optional peer ` +
        `dependencies of kcl-ts, left out of production installs); install them with: npm install --save-dev ${install}`,
    );
    this.name = 'EmulatorsNotInstalledError';
  }
}

/** The emulators' version ranges as this package's manifest declares them (one source of truth). */
function peerRanges(): Record<string, string> {
  try {
    // dist/src/local/stack.js → the package root, in the repository and in an installed package alike.
    const manifest = requireFromHere('../../../package.json') as { peerDependencies?: Record<string, string> };
    return manifest.peerDependencies ?? {};
  } catch {
    return {};
  }
}

/** Throws EmulatorsNotInstalledError naming every emulator package that cannot be resolved from here. */
export function checkEmulatorsInstalled(): void {
  const missing = EMULATOR_PACKAGES.filter((name) => {
    try {
      requireFromHere.resolve(name === 'kinesis-local' ? 'kinesis-local/main.js' : name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new EmulatorsNotInstalledError(missing);
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    what: string,
  ) {
    super(`${what} port ${port} is already in use; pick another port or stop whatever is listening on it`);
    this.name = 'PortInUseError';
  }
}

function errCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function validPort(port: number | undefined, what: string): void {
  if (port === undefined) return;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${what} port must be an integer in 1..65535, got ${port}`);
}

/**
 * Checks a port by binding it the way kinesis-local will: every interface (no host given). Resolves false on
 * EADDRINUSE; other errors (EACCES for a privileged port) are thrown with the port in the message.
 */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err) => {
      if (errCode(err) === 'EADDRINUSE') resolve(false);
      else reject(new Error(`cannot bind port ${port}: ${err.message}`, { cause: err }));
    });
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Asks the OS for `n` distinct free ports (held open together so they differ), on every interface. */
async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

/** One GET /healthcheck without keep-alive (an open connection would stop kinesis-local exiting on SIGTERM). */
function healthCheck(port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthcheck', agent: false, timeout: 2_000, signal }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// dynalite (in-process)

interface RunningDynalite {
  port: number;
  close(): Promise<void>;
}

async function startDynalite(port: number | undefined, logger: Logger): Promise<RunningDynalite> {
  // dynalite ships no types; its factory returns a plain http.Server (https only with `ssl`, which we never set).
  const dynalite = requireFromHere('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      if (errCode(err) === 'EADDRINUSE') reject(new PortInUseError(port ?? 0, 'dynamodb (dynalite, 127.0.0.1)'));
      else reject(new Error(`dynalite could not listen on 127.0.0.1:${port ?? 0}: ${err.message}`, { cause: err }));
    });
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: actual,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => {
          server.close((err) => {
            if (err) logger.debug({ err: err.message }, 'dynalite close reported an error');
            resolve();
          });
        });
        // server.close() waits for keep-alive connections that SDK clients may still hold; drop them.
        server.closeAllConnections();
        if (!(await within(closed, DYNALITE_CLOSE_MILLIS))) logger.warn('dynalite did not finish closing in time; continuing');
      })()),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// kinesis-local (child process)

interface RunningKinesis {
  child: ChildProcess;
  pid: number;
  exited: Promise<ChildExit>;
  plainPort: number;
  tlsPort: number;
  stop(): Promise<void>;
}

class ChildStartError extends Error {
  constructor(
    message: string,
    readonly portRace: boolean,
  ) {
    super(message);
    this.name = 'ChildStartError';
  }
}

async function startKinesisLocal(requestedPort: number | undefined, logger: Logger, signal: AbortSignal): Promise<RunningKinesis> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startKinesisLocalOnce(requestedPort, logger, signal);
    } catch (err) {
      const retry = err instanceof ChildStartError && err.portRace && requestedPort === undefined && attempt < PORT_RACE_ATTEMPTS;
      if (!retry) throw err;
      logger.debug({ attempt }, 'kinesis-local lost a race for its ports; retrying with new ones');
    }
  }
}

async function startKinesisLocalOnce(requestedPort: number | undefined, logger: Logger, signal: AbortSignal): Promise<RunningKinesis> {
  let plainPort: number;
  let tlsPort: number;
  if (requestedPort !== undefined) {
    // startLocalStack has checked requestedPort; the TLS port only has to differ from it.
    let candidate: number;
    do [candidate] = await freePorts(1);
    while (candidate === requestedPort);
    plainPort = requestedPort;
    tlsPort = candidate;
  } else {
    [plainPort, tlsPort] = await freePorts(2);
  }

  signal.throwIfAborted();
  const mainJs = requireFromHere.resolve('kinesis-local/main.js');
  const packageDir = path.dirname(mainJs);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.INITIALIZE_STREAMS; // an empty value is fatal, and streams are created through the API instead
  Object.assign(env, {
    KINESIS_MOCK_CERT_PATH: path.join(packageDir, 'server.json'),
    KINESIS_MOCK_PLAIN_PORT: String(plainPort),
    KINESIS_MOCK_TLS_PORT: String(tlsPort),
    SHARD_LIMIT: '10000',
    LOG_LEVEL: 'WARN',
    AWS_REGION: LOCAL_REGION,
  });
  for (const name of ZERO_DURATIONS) env[name] = '0ms';

  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(PARENT_WATCHDOG)}`, mainJs], {
    cwd: packageDir,
    env,
    // Own process group: a terminal Ctrl-C reaches only us, and we stop the child in order (not half-way twice).
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const log = logger.child({ component: 'kinesis-local', pid: child.pid });

  // The last lines of its output, for the error message when it dies during start-up.
  const recent: string[] = [];
  const capture = (stream: NodeJS.ReadableStream | null, name: string) => {
    if (!stream) return;
    forEachLine(stream, (line) => {
      const text = line.trimEnd();
      if (!text) return;
      recent.push(text);
      if (recent.length > OUTPUT_LINES_KEPT) recent.shift();
      log.debug({ stream: name }, text);
    });
  };
  capture(child.stdout, 'stdout');
  capture(child.stderr, 'stderr');
  child.stdin?.on('error', () => {}); // EPIPE after the child is gone is expected

  let healthy = false;
  let stopping = false;
  const exited = whenExited(child);
  // 'close' comes after 'exit' once its stdout/stderr are drained: the moment its last words can be quoted.
  const outputDrained = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  // Safety net: if this process exits without stop(), the child must not outlive it.
  killOnProcessExit(child);
  void exited.then((result) => {
    if (healthy && !stopping) {
      log.warn({ code: result.code, signal: result.signal, output: recent.slice(-10) }, 'kinesis-local exited unexpectedly');
    }
  });

  let stopPromise: Promise<void> | undefined;
  const stop = () =>
    (stopPromise ??= (async () => {
      stopping = true;
      // SIGKILL after the grace period is expected when clients still hold keep-alive connections: it then
      // stops listening but never exits.
      if (!(await terminate(child, exited, TERM_GRACE_MILLIS, KILL_WAIT_MILLIS))) log.warn('kinesis-local did not exit after SIGKILL');
      child.stdin?.destroy();
    })());

  try {
    if (child.pid === undefined) {
      const result = await exited;
      throw new Error(`could not start kinesis-local: ${result.error?.message ?? 'no pid'}`);
    }
    const deadline = systemClock.now() + HEALTH_TIMEOUT_MILLIS;
    let childExit: ChildExit | undefined;
    void exited.then((r) => {
      childExit = r;
    });
    for (;;) {
      signal.throwIfAborted();
      if (childExit) {
        await within(outputDrained, 1_000);
        const output = recent.join('\n');
        const portRace = /EADDRINUSE|Address already in use/.test(output);
        throw new ChildStartError(
          `kinesis-local exited during start-up (code ${childExit.code}, signal ${childExit.signal})` +
            (portRace ? ` — one of its ports (${plainPort}, TLS ${tlsPort}) is already in use` : '') +
            `. Last output:\n${output || '(none)'}`,
          portRace,
        );
      }
      if (await healthCheck(plainPort, signal)) break;
      if (systemClock.now() > deadline) {
        throw new Error(
          `kinesis-local did not answer GET http://127.0.0.1:${plainPort}/healthcheck within ${HEALTH_TIMEOUT_MILLIS / 1000} s. ` +
            `Last output:\n${recent.join('\n') || '(none)'}`,
        );
      }
      await abortable(Promise.race([systemClock.sleep(HEALTH_POLL_MILLIS), exited]), signal);
    }
    healthy = true;
    return { child, pid: child.pid, exited, plainPort, tlsPort, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Starts kinesis-local and dynalite on loopback, waits until both are healthy, creates the requested streams, and
 * returns their endpoints. On any failure (or abort) everything started so far is stopped before the error is thrown.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const logger = options.logger ?? silentLogger;
  const signal = options.signal ?? new AbortController().signal;
  validPort(options.kinesisPort, 'kinesis');
  validPort(options.dynamodbPort, 'dynamodb');
  if (options.kinesisPort !== undefined && options.kinesisPort === options.dynamodbPort) {
    throw new Error(`kinesis and dynamodb ports must differ (both ${options.kinesisPort})`);
  }
  for (const s of options.streams ?? []) {
    if (!s.name) throw new Error('stream name must not be empty');
    if (!Number.isInteger(s.shards) || s.shards <= 0) throw new Error(`stream ${s.name}: shards must be a positive integer, got ${s.shards}`);
  }
  checkEmulatorsInstalled();
  signal.throwIfAborted();

  const t0 = systemClock.now();
  let dynamo: RunningDynalite | undefined;
  let kinesis: RunningKinesis | undefined;
  const stopAll = async () => {
    await Promise.all([kinesis?.stop(), dynamo?.close()]);
  };
  try {
    // Check a requested kinesis port before starting anything, so the common mistake fails fast and clearly.
    if (options.kinesisPort !== undefined && !(await portIsFree(options.kinesisPort))) {
      throw new PortInUseError(options.kinesisPort, 'kinesis (kinesis-local)');
    }
    dynamo = await startDynalite(options.dynamodbPort, logger);
    const tDynamo = systemClock.now();
    kinesis = await startKinesisLocal(options.kinesisPort, logger, signal);
    const tKinesis = systemClock.now();

    const kinesisEndpoint = `http://127.0.0.1:${kinesis.plainPort}`;
    const dynamodbEndpoint = `http://127.0.0.1:${dynamo.port}`;
    if (options.streams?.length) {
      const client = createKinesisClient({ kinesisEndpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      try {
        for (const s of options.streams) {
          await ensureStream(client, s.name, s.shards, signal);
          logger.debug({ stream: s.name, shards: s.shards }, 'stream ready');
        }
      } finally {
        // Close its keep-alive sockets: an open connection keeps kinesis-local from exiting on SIGTERM later.
        client.destroy();
      }
    }
    const tStreams = systemClock.now();
    const startupMillis = {
      dynamodb: Math.round(tDynamo - t0),
      kinesis: Math.round(tKinesis - tDynamo),
      streams: Math.round(tStreams - tKinesis),
      total: Math.round(tStreams - t0),
    };
    logger.debug({ kinesisEndpoint, dynamodbEndpoint, kinesisTlsPort: kinesis.tlsPort, startupMillis }, 'local stack ready');

    let stopping: Promise<void> | undefined;
    const running = kinesis;
    return {
      kinesisEndpoint,
      dynamodbEndpoint,
      kinesisPid: running.pid,
      kinesisExited: running.exited.then(({ code, signal: sig }) => ({ code, signal: sig })),
      ports: { kinesis: running.plainPort, kinesisTls: running.tlsPort, dynamodb: dynamo.port },
      startupMillis,
      stop: () =>
        (stopping ??= stopAll().catch((err: unknown) => {
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'error while stopping the local stack');
        })),
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
