/**
 * The SDK v3 clients: endpoints, region, credentials and the HTTP handler.
 *
 * Kinesis calls get the HTTP/1.1 handler: the SDK's default HTTP/2 handler fails intermittently against the
 * emulators (see docs/local-mode.md, 'Traps that matter to users'), and polling gains nothing from HTTP/2 on AWS
 * either. Enhanced fan-out subscriptions get a client of their own: HTTP/2 against AWS, which requires it for
 * SubscribeToShard, and HTTP/1.1 against an emulator (see subscriptionTransport).
 */
import http from 'node:http';
import https from 'node:https';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { NoOpLogger } from '@smithy/core/client';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { fromEnv, fromIni, fromNodeProviderChain, fromInstanceMetadata, fromContainerMetadata, fromTokenFile } from '@aws-sdk/credential-providers';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { defaultKinesisProtocol, type KinesisProtocol } from '../config/fields.js';
import { KinesisCborProtocol } from './kinesis-protocol.js';
import { collectBody, collectPooledBody } from './body-collector.js';
import { signalled, SignalledHttpHandler } from './call-signal.js';
import { KINESIS_SILENCE_MILLIS } from './call.js';
import { withReusedSigner } from './signer.js';

export interface AwsClientOptions {
  region?: string;
  kinesisEndpoint?: string;
  dynamoDBEndpoint?: string;
  /** Provider name(s) from a properties file, or a ready credentials provider. */
  credentials?: string | AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /**
   * The handler's own limit on one request, a safety net behind the per-call deadlines of aws/call.ts (which
   * are shorter): a request still running after this is destroyed with its connection.
   */
  requestTimeoutMillis?: number;
  /**
   * Kinesis clients only: a request whose connection carries nothing (no byte either way) for this long fails as
   * a timeout, however long its deadline. Default KINESIS_SILENCE_MILLIS (aws/call.ts).
   */
  silenceLimitMillis?: number;
  /** Where the SDK's own warnings go (structured, with the rest of the log); its per-call info is dropped. */
  logger?: Logger;
  /** Kinesis wire format (see aws/kinesis-protocol.ts); default CBOR unless AWS_CBOR_DISABLE is set. */
  kinesisProtocol?: KinesisProtocol;
}

/**
 * What every Kinesis client shares: the wire protocol, and a body collector that copies each response once into
 * a buffer of its announced length instead of concatenating chunks (aws/body-collector.ts); over CBOR, whose
 * decoder gives large answers back, into a pooled buffer.
 */
function kinesisWire(options: AwsClientOptions) {
  const protocol = options.kinesisProtocol ?? defaultKinesisProtocol();
  return protocol === 'CBOR' ? { streamCollector: collectPooledBody, protocol: KinesisCborProtocol } : { streamCollector: collectBody };
}

/**
 * The SDK's logger interface, fed into ours: warnings only. Its info level logs every call and its error level
 * every failed call with the whole request input; callAws reports each failure once, classified, instead.
 * It is a NoOpLogger to the SDK, whose logging middleware otherwise copies every answer (all records of a
 * GetRecords page) through its sensitive-data filter for an info line that is then dropped.
 */
class WarningsOnlyLogger extends NoOpLogger {
  constructor(private readonly logger: Logger | undefined) {
    super();
  }
  override warn(...args: unknown[]): void {
    const text = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    this.logger?.warn({ component: 'aws-sdk' }, text);
  }
}

function sdkLogger(logger: Logger | undefined): WarningsOnlyLogger {
  return new WarningsOnlyLogger(logger);
}

/**
 * Removes the SDK's per-call logging step. Given any logger but its own no-op one, that step builds a redacted
 * copy of every call's input and output for `logger.info`, which sdkLogger drops: work on every call for nothing.
 * The SDK's warnings still reach sdkLogger; failures are reported by callAws.
 */
function withoutCallLogging<T extends { middlewareStack: { remove(name: string): boolean } }>(client: T): T {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/**
 * What every client built here shares on the per-call path, each to spare work the SDK would do on every call:
 * - the middleware stack is resolved once per command class (`cacheMiddleware`); calls pass no options, their
 *   abort signal travels as aws/call-signal.ts describes;
 * - retries are ours (common/retry.ts): the SDK's would multiply with them and hide failing calls, and with
 *   `maxAttempts` 1 its retry step would still make a token and an invocation id per call for nothing, so the
 *   step is a pass-through.
 */
const perCall = {
  cacheMiddleware: true,
  maxAttempts: 1,
  retryStrategy: { retry: <I, O>(next: (args: I) => Promise<O>, args: I): Promise<O> => next(args) },
} as const;

/** Region used when nothing names one and the endpoint is an emulator (emulators accept any region). */
export const LOCAL_REGION = 'us-east-1';

export function isLoopbackEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

function httpHandler(timeout: number, logger: Logger | undefined, maxSockets = 256, silenceLimitMillis?: number): NodeHttpHandler {
  return new SignalledHttpHandler({
    requestTimeout: timeout,
    // The handler arms it 3 s into a request when it is 6 s or more, so silence is caught 0-3 s past the limit.
    ...(silenceLimitMillis === undefined ? {} : { socketTimeout: silenceLimitMillis }),
    // Without it the handler only warns on console, and a request on a dead connection waits for ever.
    throwOnRequestTimeout: true,
    logger: sdkLogger(logger),
    connectionTimeout: 5_000,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
  });
}

export type SubscriptionTransport = 'http2' | 'http1.1';

/**
 * How SubscribeToShard travels: HTTP/2 to AWS (the service requires it), HTTP/1.1 to a loopback or plain-http
 * endpoint (an emulator: kinesis-local serves event streams over HTTP/1.1 and fails them over HTTP/2).
 */
export function subscriptionTransport(kinesisEndpoint: string | undefined): SubscriptionTransport {
  if (kinesisEndpoint === undefined) return 'http2';
  if (isLoopbackEndpoint(kinesisEndpoint)) return 'http1.1';
  try {
    return new URL(kinesisEndpoint).protocol === 'http:' ? 'http1.1' : 'http2';
  } catch {
    return 'http2';
  }
}

function resolveRegion(options: AwsClientOptions): string | undefined {
  if (options.region) return options.region;
  if (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION) return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (isLoopbackEndpoint(options.kinesisEndpoint) || isLoopbackEndpoint(options.dynamoDBEndpoint)) return LOCAL_REGION;
  return undefined;
}

/**
 * Maps provider names written in Java properties files (SDK v1 and v2 class names) onto SDK v3 providers.
 * Several names separated by commas form a chain. Against loopback endpoints with no credentials configured,
 * fixed dummy credentials are used, since the emulators accept any.
 */
export function resolveCredentials(
  spec: AwsClientOptions['credentials'],
  endpoints: (string | undefined)[],
): AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined {
  if (spec !== undefined && typeof spec !== 'string') return spec;
  const local = endpoints.some((e) => isLoopbackEndpoint(e));
  const envHasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_WEB_IDENTITY_TOKEN_FILE);
  const names = (spec ?? 'DefaultCredentialsProvider')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const providers = names.map((entry) => providerFor(entry));
  if (local && !envHasCredentials) {
    // Emulators accept any key; do not make a new user set up credentials to see records flow.
    return { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  if (providers.length === 1) return providers[0];
  return async () => {
    const errors: unknown[] = [];
    for (const p of providers) {
      try {
        return await p();
      } catch (err) {
        errors.push(err);
      }
    }
    throw new AggregateError(errors, `no credentials from any of: ${names.join(', ')}`);
  };
}

function providerFor(entry: string): AwsCredentialIdentityProvider {
  const [rawName, ...args] = entry.split('|').map((s) => s.trim());
  const name = (rawName ?? '').replace(/^(com\.amazonaws\.auth\.|software\.amazon\.awssdk\.auth\.credentials\.|software\.amazon\.kinesis\.multilang\.auth\.)/, '').replace(/^profile\./, '');
  switch (name) {
    case 'DefaultCredentialsProvider':
    case 'DefaultAWSCredentialsProviderChain':
      return fromNodeProviderChain();
    case 'EnvironmentVariableCredentialsProvider':
    case 'SystemPropertyCredentialsProvider':
    case 'SystemPropertiesCredentialsProvider':
      return fromEnv();
    case 'ProfileCredentialsProvider':
      return fromIni(args[0] ? { profile: args[0] } : {});
    case 'InstanceProfileCredentialsProvider':
    case 'EC2ContainerCredentialsProviderWrapper':
      return fromInstanceMetadata();
    case 'ContainerCredentialsProvider':
      return fromContainerMetadata();
    case 'WebIdentityTokenFileCredentialsProvider':
    case 'WebIdentityTokenCredentialsProvider':
      return fromTokenFile();
    default:
      throw new ConfigError(
        `AWSCredentialsProvider: unknown provider "${rawName}". Allowed: DefaultCredentialsProvider (or DefaultAWSCredentialsProviderChain), ` +
          'EnvironmentVariableCredentialsProvider, ProfileCredentialsProvider|<profile>, InstanceProfileCredentialsProvider, ' +
          'ContainerCredentialsProvider, WebIdentityTokenFileCredentialsProvider',
        'AWSCredentialsProvider',
      );
  }
}

export function createKinesisClient(options: AwsClientOptions): KinesisClient {
  return signalled(withoutCallLogging(withReusedSigner((signer) => new KinesisClient({
    signer,
    region: resolveRegion(options),
    endpoint: options.kinesisEndpoint,
    credentials: resolveCredentials(options.credentials, [options.kinesisEndpoint]),
    requestHandler: httpHandler(options.requestTimeoutMillis ?? 60_000, options.logger, 256, options.silenceLimitMillis ?? KINESIS_SILENCE_MILLIS),
    logger: sdkLogger(options.logger),
    ...kinesisWire(options),
    ...perCall,
  }))));
}

/**
 * The client for enhanced fan-out subscriptions only. Each subscription holds its connection for minutes, so it
 * never shares a pool with the short calls: over HTTP/1.1 it has sockets of its own, without a cap; over HTTP/2
 * the SDK gives every event stream a session of its own, so no subscription waits for a stream slot and a dead
 * connection takes only its own subscription with it. Idle limits are a safety net behind the fan-out source's
 * own watch on silent subscriptions.
 */
export function createKinesisSubscriptionClient(options: AwsClientOptions & { transport?: SubscriptionTransport }): KinesisClient {
  const transport = options.transport ?? subscriptionTransport(options.kinesisEndpoint);
  return withoutCallLogging(withReusedSigner((signer) => new KinesisClient({
    signer,
    region: resolveRegion(options),
    endpoint: options.kinesisEndpoint,
    credentials: resolveCredentials(options.credentials, [options.kinesisEndpoint]),
    requestHandler:
      transport === 'http2'
        ? new NodeHttp2Handler({ requestTimeout: 60_000, sessionTimeout: 360_000, disableConcurrentStreams: false })
        : httpHandler(60_000, options.logger, Number.POSITIVE_INFINITY),
    logger: sdkLogger(options.logger),
    ...kinesisWire(options),
    maxAttempts: 1,
  })));
}

export function createDynamoDBClient(options: AwsClientOptions): DynamoDBClient {
  return signalled(withoutCallLogging(withReusedSigner((signer) => new DynamoDBClient({
    signer,
    region: resolveRegion(options),
    endpoint: options.dynamoDBEndpoint,
    credentials: resolveCredentials(options.credentials, [options.dynamoDBEndpoint]),
    requestHandler: httpHandler(options.requestTimeoutMillis ?? 30_000, options.logger),
    logger: sdkLogger(options.logger),
    ...perCall,
  }))));
}

export interface CloudWatchClientOptions extends AwsClientOptions {
  cloudWatchEndpoint?: string;
  /** Credentials for CloudWatch only (`AWSCredentialsProviderCloudWatch`); default: `credentials`. */
  cloudWatchCredentials?: AwsClientOptions['credentials'];
}

/**
 * The client for PutMetricData. Its own HTTP/1.1 pool, a few sockets only: metrics are sent one request at a
 * time, off the record path, and must never compete with Kinesis or DynamoDB for connections.
 */
export function createCloudWatchClient(options: CloudWatchClientOptions): CloudWatchClient {
  return signalled(withoutCallLogging(withReusedSigner((signer) => new CloudWatchClient({
    signer,
    region: resolveRegion(options) ?? (isLoopbackEndpoint(options.cloudWatchEndpoint) ? LOCAL_REGION : undefined),
    endpoint: options.cloudWatchEndpoint,
    credentials: resolveCredentials(options.cloudWatchCredentials ?? options.credentials, [options.cloudWatchEndpoint]),
    requestHandler: httpHandler(options.requestTimeoutMillis ?? 30_000, options.logger, 4),
    logger: sdkLogger(options.logger),
    ...perCall,
  }))));
}
