/**
 * KclConfig building and the mapping of the Java daemon's properties keys (see docs/daemon-protocol.md,
 * 'Properties file'): the seed sample file, defaults, every bad-value error (all of them at once), warnings for
 * unknown keys, and the deliberate differences from Java (explicit false applied, bad values rejected). The
 * daemon's own keys are tested in daemon-config.test.ts.
 */

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/common/errors.js';
import { assertConfigError, fixturePath } from '../helpers/config.js';
import { DEFAULTS, type KclConfig } from '../../src/config/config.js';
import { parseProperties } from '../../src/config/properties.js';
import {
  ACCEPTED_NOT_ACTED_ON,
  buildConfig,
  configFromProperties,
  loadPropertiesConfig,
} from '../../src/config/load.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MINIMAL = 'streamName = s\napplicationName = app\n';

/** Parses properties text and maps it, collecting warnings. */
function load(text: string, overrides?: Partial<KclConfig>): { config: KclConfig; warnings: string[] } {
  const warnings: string[] = [];
  const config = configFromProperties(parseProperties(text), {
    onWarning: (message) => warnings.push(message),
    ...(overrides === undefined ? {} : { overrides }),
  });
  return { config, warnings };
}

const errorFor = (line: string, key: string, value: string): void =>
  assertConfigError(() => load(MINIMAL + line), key, value);

/** The default-valued fields every config gets. */
const DEFAULTED = {
  failoverTimeMillis: 10_000,
  epsilonMillis: 25,
  shardSyncIntervalMillis: 60_000,
  maxRecords: 10_000,
  idleTimeBetweenReadsInMillis: 1_500,
  callProcessRecordsEvenForEmptyRecordList: false,
  parentShardPollIntervalMillis: 10_000,
  cleanupLeasesUponShardCompletion: true,
  taskBackoffTimeMillis: 500,
  maxLeasesForWorker: Number.POSITIVE_INFINITY,
  maxLeasesToStealAtOneTime: 1,
  maxLeaseRenewalThreads: 20,
  isGracefulLeaseHandoffEnabled: true,
  gracefulLeaseHandoffTimeoutMillis: 30_000,
  maxPendingProcessRecordsInput: 3,
  metricsLevel: 'DETAILED',
  metricsEnabledDimensions: ['Operation', 'ShardId', 'WorkerIdentifier', 'StreamId'],
  metricsBufferTimeMillis: 10_000,
  metricsMaxQueueSize: 10_000,
  metricsHttpHost: '127.0.0.1',
  validateSequenceNumberBeforeCheckpointing: true,
  maxActiveThreads: 0,
};

describe('the seed sample file', () => {
  const expectedSample = {
    ...DEFAULTED,
    streamName: 'kclpysample',
    applicationName: 'PythonKCLSample',
    tableName: 'PythonKCLSample',
    regionName: 'us-east-1',
    initialPositionInStream: 'TRIM_HORIZON',
    awsCredentialsProvider: 'DefaultAWSCredentialsProviderChain',
    consumerName: 'PythonKCLSample',
    kinesisProtocol: 'CBOR',
    retrievalMode: 'FANOUT',
    retrievalModeReason: 'retrievalMode is not set and no polling key is set (the Java KCL default)',
  };

  test('loads as is, without warnings (the daemon keys are known, but not the core\'s)', async () => {
    const warnings: string[] = [];
    const config = await loadPropertiesConfig(fixturePath('sample.properties'), { onWarning: (m) => warnings.push(m) });
    const { workerId, ...rest } = config;
    assert.match(workerId, UUID);
    assert.deepEqual(rest, expectedSample);
    assert.deepEqual(warnings, []);
  });

  test('with every commented key uncommented (workerId empty → generated)', async () => {
    const text = (await readFile(fixturePath('sample.properties'), 'utf8')).replace(/^#(?=\w)/gm, '');
    assert.match(text, /^workerId = $/m);
    assert.match(text, /^idleTimeBetweenReadsInMillis = 1000$/m);
    const { config, warnings } = load(text);
    const { workerId, ...rest } = config;
    assert.match(workerId, UUID);
    assert.deepEqual(rest, {
      ...expectedSample,
      idleTimeBetweenReadsInMillis: 1000,
      // Uncommented, the sample's maxRecords and idle time are polling keys: the Java daemon then polls too.
      retrievalMode: 'POLLING',
      retrievalModeReason: 'retrievalMode is not set and the polling keys maxRecords, idleTimeBetweenReadsInMillis are set',
    });
    assert.deepEqual(warnings, []);
  });

  test('two loads generate different worker ids', () => {
    assert.notEqual(load(MINIMAL).config.workerId, load(MINIMAL).config.workerId);
  });
});

describe('buildConfig', () => {
  test('fills defaults; tableName = applicationName; workerId = random UUID; optional fields absent', () => {
    const config = buildConfig({ streamName: 's', applicationName: 'app' });
    const { workerId, ...rest } = config;
    assert.match(workerId, UUID);
    assert.deepEqual(rest, {
      ...DEFAULTED,
      streamName: 's',
      applicationName: 'app',
      tableName: 'app',
      initialPositionInStream: 'LATEST',
      awsCredentialsProvider: 'DefaultCredentialsProvider',
      consumerName: 'app',
      kinesisProtocol: 'CBOR',
      retrievalMode: 'FANOUT',
      retrievalModeReason: 'retrievalMode is not set and no polling key is set (the Java KCL default)',
    });
    assert.equal('regionName' in config, false);
    assert.equal('initialPositionTimestamp' in config, false);
  });

  test('the defaults are the DEFAULTS constant', () => {
    const config = buildConfig({ streamName: 's', applicationName: 'app' });
    for (const [key, value] of Object.entries(DEFAULTS)) {
      assert.equal(config[key as keyof KclConfig], value, key);
    }
  });

  test('explicit values are kept', () => {
    const at = new Date('2024-01-02T03:04:05Z');
    const config = buildConfig({
      streamName: 's',
      applicationName: 'app',
      tableName: 'leases',
      workerId: 'w-1',
      initialPositionInStream: 'AT_TIMESTAMP',
      initialPositionTimestamp: at,
      maxLeasesForWorker: 4,
      kinesisEndpoint: 'http://localhost:4567',
    });
    assert.equal(config.tableName, 'leases');
    assert.equal(config.workerId, 'w-1');
    assert.equal(config.initialPositionInStream, 'AT_TIMESTAMP');
    assert.equal(config.initialPositionTimestamp, at);
    assert.equal(config.maxLeasesForWorker, 4);
    assert.equal(config.kinesisEndpoint, 'http://localhost:4567');
  });

  test('a timestamp without a position means AT_TIMESTAMP', () => {
    const at = new Date(1_000);
    assert.equal(buildConfig({ streamName: 's', applicationName: 'app', initialPositionTimestamp: at }).initialPositionInStream, 'AT_TIMESTAMP');
  });

  const base = { streamName: 's', applicationName: 'app' };
  test('validates configs built in code', () => {
    assertConfigError(() => buildConfig({ ...base, streamName: '  ' }), 'streamName', '"  "');
    assertConfigError(() => buildConfig({ ...base, applicationName: '' }), 'applicationName', '""');
    assertConfigError(() => buildConfig({ ...base, maxRecords: Number.NaN }), 'maxRecords', 'NaN');
    assertConfigError(() => buildConfig({ ...base, maxRecords: 1.5 }), 'maxRecords', '1.5');
    assertConfigError(() => buildConfig({ ...base, failoverTimeMillis: Number.POSITIVE_INFINITY }), 'failoverTimeMillis', 'Infinity');
    assertConfigError(() => buildConfig({ ...base, failoverTimeMillis: 0 }), 'failoverTimeMillis', '0');
    assertConfigError(() => buildConfig({ ...base, taskBackoffTimeMillis: -1 }), 'taskBackoffTimeMillis', '-1');
    assertConfigError(() => buildConfig({ ...base, maxLeasesToStealAtOneTime: 0 }), 'maxLeasesToStealAtOneTime', '0');
    assertConfigError(() => buildConfig({ ...base, maxPendingProcessRecordsInput: 101 }), 'maxPendingProcessRecordsInput', '101');
    assertConfigError(() => buildConfig({ ...base, workerId: ' ' }), 'workerId', '" "');
    assertConfigError(() => buildConfig({ ...base, tableName: 'a b' }), 'tableName', '"a b"');
    assertConfigError(() => buildConfig({ ...base, kinesisEndpoint: 'localhost:4567' }), 'kinesisEndpoint', 'localhost:4567');
  });

  test('epsilonMillis must stay below failoverTimeMillis / 3', () => {
    assert.equal(buildConfig({ ...base, failoverTimeMillis: 300, epsilonMillis: 99 }).epsilonMillis, 99);
    assertConfigError(() => buildConfig({ ...base, failoverTimeMillis: 300, epsilonMillis: 100 }), 'epsilonMillis', '100');
    assertConfigError(() => buildConfig({ ...base, epsilonMillis: -1 }), 'epsilonMillis', '-1');
  });

  test('AT_TIMESTAMP needs a valid Date', () => {
    assertConfigError(() => buildConfig({ ...base, initialPositionInStream: 'AT_TIMESTAMP' }), 'initialPositionTimestamp', 'AT_TIMESTAMP');
    assertConfigError(
      () => buildConfig({ ...base, initialPositionInStream: 'AT_TIMESTAMP', initialPositionTimestamp: new Date('nope') }),
      'initialPositionTimestamp',
      'Invalid Date',
    );
  });

  test('maxLeasesForWorker: Infinity allowed, 0 not', () => {
    assert.equal(buildConfig({ ...base, maxLeasesForWorker: Number.POSITIVE_INFINITY }).maxLeasesForWorker, Number.POSITIVE_INFINITY);
    assertConfigError(() => buildConfig({ ...base, maxLeasesForWorker: 0 }), 'maxLeasesForWorker', '0');
  });
});

describe('bad values in a properties file', () => {
  test('non-numeric number', () => {
    errorFor('failoverTimeMillis = 100nf', 'failoverTimeMillis', '"100nf"');
    errorFor('maxRecords = abc', 'maxRecords', '"abc"');
    errorFor('shardSyncIntervalMillis = 0x10', 'shardSyncIntervalMillis', '"0x10"');
  });

  test('the message says what is allowed', () => {
    assert.throws(() => load(MINIMAL + 'maxRecords = abc'), {
      message: 'maxRecords: "abc" is not a number; expected an integer from 1 to 10000',
    });
  });

  test('negative interval', () => {
    errorFor('failoverTimeMillis = -12', 'failoverTimeMillis', '"-12"');
    errorFor('idleTimeBetweenReadsInMillis = -5', 'idleTimeBetweenReadsInMillis', '"-5"');
    errorFor('parentShardPollIntervalMillis = -1', 'parentShardPollIntervalMillis', '"-1"');
  });

  test('maxRecords out of range: 0 and 10001; boundaries accepted', () => {
    errorFor('maxRecords = 0', 'maxRecords', '"0"');
    errorFor('maxRecords = 10001', 'maxRecords', '"10001"');
    errorFor('maxRecords = 2.5', 'maxRecords', '"2.5"');
    assert.equal(load(MINIMAL + 'maxRecords = 1').config.maxRecords, 1);
    assert.equal(load(MINIMAL + 'maxRecords = 10000').config.maxRecords, 10000);
  });

  test('unknown initial position', () => {
    errorFor('initialPositionInStream = EARLIEST', 'initialPositionInStream', '"EARLIEST"');
  });

  test('AT_TIMESTAMP without a timestamp names initialPositionInStreamExtended', () => {
    errorFor('initialPositionInStream = AT_TIMESTAMP', 'initialPositionInStreamExtended', 'AT_TIMESTAMP');
  });

  test('bad timestamp', () => {
    errorFor('initialPositionInStreamExtended = null', 'initialPositionInStreamExtended', '"null"');
    errorFor('initialPositionInStreamExtended = -1', 'initialPositionInStreamExtended', '"-1"');
    errorFor('timestampAtInitialPositionInStream = yesterday', 'timestampAtInitialPositionInStream', '"yesterday"');
  });

  test('bad boolean', () => {
    errorFor('callProcessRecordsEvenForEmptyRecordList = maybe', 'callProcessRecordsEvenForEmptyRecordList', '"maybe"');
    errorFor('cleanupLeasesUponShardCompletion = truee', 'cleanupLeasesUponShardCompletion', '"truee"');
  });

  test('bad endpoint URL', () => {
    errorFor('kinesisEndpoint = localhost:4567', 'kinesisEndpoint', '"localhost:4567"');
    errorFor('dynamoDBEndpoint = ftp://localhost:4568', 'dynamoDBEndpoint', '"ftp://localhost:4568"');
    errorFor('dynamoDBEndpoint = not a url', 'dynamoDBEndpoint', '"not a url"');
  });

  test('bad streamArn', () => {
    errorFor('streamArn = this_is_not_a_valid_arn', 'streamArn', '"this_is_not_a_valid_arn"');
    const bad = 'arn:aws:kinesis:us-east-1:ACCOUNT_ID:BadFormatting:stream/x';
    errorFor(`streamArn = ${bad}`, 'streamArn', bad);
    errorFor('streamArn = arn:aws:kinesis:us-east-1:12345:stream/x', 'streamArn', '12345');
  });

  test('other ranges', () => {
    errorFor('maxLeasesForWorker = 0', 'maxLeasesForWorker', '"0"');
    errorFor('maxLeasesToStealAtOneTime = 0', 'maxLeasesToStealAtOneTime', '"0"');
    errorFor('maxPendingProcessRecordsInput = 101', 'maxPendingProcessRecordsInput', '"101"');
    errorFor('metricsMaxQueueSize = 0', 'metricsMaxQueueSize', '"0"');
    errorFor('maxActiveThreads = 1.5', 'maxActiveThreads', '"1.5"');
  });

  test('missing streamName (and no streamArn)', () => {
    assertConfigError(() => load('applicationName = app'), 'streamName', 'missing');
    assertConfigError(() => load('applicationName = app\nstreamName =   \nstreamArn = '), 'streamName', 'missing');
  });

  test('missing applicationName', () => {
    assertConfigError(() => load('streamName = s'), 'applicationName', 'missing');
  });

  test('an applicationName that cannot name the lease table', () => {
    assertConfigError(() => load('streamName = s\napplicationName = my app'), 'applicationName', '"my app"');
  });

  test('executableName and the credentials key are not required', () => {
    const { config } = load(MINIMAL);
    assert.equal('executableName' in config, false);
    assert.equal(config.awsCredentialsProvider, 'DefaultCredentialsProvider');
  });
});

describe('keys', () => {
  test('an unknown key warns, and the config is otherwise unaffected', () => {
    const { config, warnings } = load(MINIMAL + 'abc = 1');
    assert.deepEqual(warnings, ['unknown key "abc" in properties file (ignored)']);
    assert.equal(config.streamName, 's');
  });

  test('a typo gets a suggestion', () => {
    const { config, warnings } = load(MINIMAL + 'failoverTimeMilis = 20000');
    assert.deepEqual(warnings, ['unknown key "failoverTimeMilis" in properties file (ignored) — did you mean "failoverTimeMillis"?']);
    assert.equal(config.failoverTimeMillis, 10_000);
  });

  test('a wrong-case key is unknown (keys are case-sensitive) but suggested', () => {
    const { config, warnings } = load(MINIMAL + 'MaxRecords = 5');
    assert.deepEqual(warnings, ['unknown key "MaxRecords" in properties file (ignored) — did you mean "maxRecords"?']);
    assert.equal(config.maxRecords, 10_000);
  });

  test('known keys the core does not act on are accepted silently', () => {
    const lines = ['leaseAssignmentIntervalMillis = 20000', 'ignoreUnexpectedChildShards = true', 'clientVersionConfig = invalid',
      'workerMetricsTableName = x', 'coordinatorStateTags = a=b', 'kinesisClientConfig = {}', 'logWarningForTaskAfterMillis = 1'];
    const { config, warnings } = load(MINIMAL + lines.join('\n'));
    assert.deepEqual(warnings, []);
    const { workerId: _a, ...withKeys } = config;
    const { workerId: _b, ...without } = load(MINIMAL).config;
    assert.deepEqual(withKeys, without);
  });

  test('every key in ACCEPTED_NOT_ACTED_ON is accepted without a warning', () => {
    // A value each key accepts (most take anything, or a number).
    const sample: Record<string, string> = { metricsLevel: 'SUMMARY', metricsEnabledDimensions: 'ShardId', cloudWatchEndpoint: 'http://127.0.0.1:1', metricsHttpHost: '::1' };
    const text = MINIMAL + ACCEPTED_NOT_ACTED_ON.map((key) => `${key} = ${sample[key] ?? '1'}`).join('\n');
    assert.deepEqual(load(text).warnings, []);
  });

  test('ACCEPTED_NOT_ACTED_ON lists the parsed-but-unused keys and the table keys', () => {
    for (const key of ['validateSequenceNumberBeforeCheckpointing', 'maxActiveThreads',
      'leaseAssignmentIntervalMillis', 'enablePriorityLeaseAssignment', 'initialLeaseTableReadCapacity',
      'listShardsBackoffTimeInMillis', 'millisBehindLatestThresholdForReducedTps',
      'workerMetricsTableName', 'coordinatorStateTags', 'logWarningForTaskAfterMillis', 'AWSCredentialsProviderDynamoDB']) {
      assert.ok(ACCEPTED_NOT_ACTED_ON.includes(key), key);
    }
    for (const key of ['streamName', 'maxRecords', 'retrievalMode', 'fanoutConfig.consumerName', 'fanoutConfig.consumerArn', 'failoverTimeMillis', 'AWSCredentialsProvider', 'cleanupLeasesUponShardCompletion',
      'isGracefulLeaseHandoffEnabled', 'gracefulLeaseHandoffTimeoutMillis', 'metricsLevel', 'metricsEnabledDimensions', 'metricsBufferTimeMillis',
      'metricsMaxQueueSize', 'cloudWatchEndpoint', 'AWSCredentialsProviderCloudWatch']) {
      assert.ok(!ACCEPTED_NOT_ACTED_ON.includes(key), key);
    }
  });

  test('the credentials key in any case', () => {
    for (const key of ['AWSCredentialsProvider', 'AwsCredentialsProvider', 'awscredentialsprovider', 'AwScReDeNtIaLsPrOvIdEr']) {
      const { config, warnings } = load(`${MINIMAL}${key} = ProfileCredentialsProvider|dev`);
      assert.equal(config.awsCredentialsProvider, 'ProfileCredentialsProvider|dev', key);
      assert.deepEqual(warnings, [], key);
    }
  });

  test('the DynamoDB / CloudWatch credential variants are accepted; the CloudWatch one is read', () => {
    const { config, warnings } = load(MINIMAL + 'awscredentialsproviderDynamoDB = A\nAwsCredentialsProviderCloudWatch = B');
    assert.deepEqual(warnings, []);
    assert.equal(config.awsCredentialsProvider, 'DefaultCredentialsProvider');
    assert.equal(config.awsCredentialsProviderCloudWatch, 'B');
  });

  test('the variant suffix stays case-sensitive', () => {
    const { warnings } = load(MINIMAL + 'AWSCredentialsProviderdynamodb = A');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /unknown key "AWSCredentialsProviderdynamodb".*did you mean "AWSCredentialsProviderDynamoDB"/);
  });

  test('the same key in two casings warns and the later one wins', () => {
    const { config, warnings } = load(MINIMAL + 'AWSCredentialsProvider = A\nAwsCredentialsProvider = B');
    assert.equal(config.awsCredentialsProvider, 'B');
    assert.equal(warnings.length, 1);
  });

  test('workerIdentifier is an alias of workerId; workerId wins', () => {
    assert.equal(load(MINIMAL + 'workerIdentifier = w-7').config.workerId, 'w-7');
    const both = load(MINIMAL + 'workerIdentifier = w-7\nworkerId = w-1');
    assert.equal(both.config.workerId, 'w-1');
    assert.equal(both.warnings.length, 1);
  });

  test('a valid streamArn overrides streamName; a blank one is ignored', () => {
    assert.equal(load(MINIMAL + 'streamArn = arn:aws:kinesis:us-east-1:123456789012:stream/from-arn').config.streamName, 'from-arn');
    assert.equal(load('applicationName = app\nstreamArn = arn:aws-cn:kinesis:cn-north-1:123456789012:stream/cn').config.streamName, 'cn');
    assert.equal(load(MINIMAL + 'streamArn =    ').config.streamName, 's');
  });

  test('tableName, endpoints and region are mapped', () => {
    const { config } = load(MINIMAL + 'tableName = leases\nregionName = eu-west-1\nkinesisEndpoint = http://localhost:4567\n'
      + 'dynamoDBEndpoint = https://dynamodb.eu-west-1.amazonaws.com');
    assert.equal(config.tableName, 'leases');
    assert.equal(config.regionName, 'eu-west-1');
    assert.equal(config.kinesisEndpoint, 'http://localhost:4567');
    assert.equal(config.dynamoDBEndpoint, 'https://dynamodb.eu-west-1.amazonaws.com');
  });

  test('daemon keys are known to the core (no warning) but not read into KclConfig', () => {
    const { config, warnings } = load(MINIMAL + 'executableName = python3 app.py\nprocessingLanguage = python/3\ntimeoutInSeconds = 30\nshutdownGraceMillis = 5000');
    assert.deepEqual(warnings, []);
    for (const key of ['executableName', 'processingLanguage', 'timeoutInSeconds', 'shutdownGraceMillis']) assert.equal(key in config, false, key);
  });

  test('a misspelt daemon key is suggested', () => {
    const { warnings } = load(MINIMAL + 'executablename = x');
    assert.deepEqual(warnings, ['unknown key "executablename" in properties file (ignored) — did you mean "executableName"?']);
  });
});

describe('value conversion', () => {
  test('values are trimmed (Java would keep trailing whitespace)', () => {
    const { config } = load('streamName = s  \t\napplicationName = app \nmaxRecords =  50  ');
    assert.equal(config.streamName, 's');
    assert.equal(config.applicationName, 'app');
    assert.equal(config.maxRecords, 50);
  });

  test('explicit false and zero are applied (Java would ignore them)', () => {
    const { config } = load(MINIMAL + 'cleanupLeasesUponShardCompletion = false\nvalidateSequenceNumberBeforeCheckpointing = false\n'
      + 'idleTimeBetweenReadsInMillis = 0\ntaskBackoffTimeMillis = 0');
    assert.equal(config.cleanupLeasesUponShardCompletion, false);
    assert.equal(config.validateSequenceNumberBeforeCheckpointing, false);
    assert.equal(config.idleTimeBetweenReadsInMillis, 0);
    assert.equal(config.taskBackoffTimeMillis, 0);
  });

  test('boolean words, case-insensitive', () => {
    for (const word of ['true', 'TRUE', 'yes', 'Y', 'on', '1']) {
      assert.equal(load(`${MINIMAL}callProcessRecordsEvenForEmptyRecordList = ${word}`).config.callProcessRecordsEvenForEmptyRecordList, true, word);
    }
    for (const word of ['false', 'False', 'no', 'N', 'OFF', '0']) {
      assert.equal(load(`${MINIMAL}cleanupLeasesUponShardCompletion = ${word}`).config.cleanupLeasesUponShardCompletion, false, word);
    }
  });

  test('a blank value counts as not given', () => {
    const { config } = load(MINIMAL + 'maxRecords =\nworkerId =   \nregionName =');
    assert.equal(config.maxRecords, 10_000);
    assert.match(config.workerId, UUID);
    assert.equal(config.regionName, undefined);
  });

  test('maxLeasesForWorker: absent → Infinity, set → that number', () => {
    assert.equal(load(MINIMAL).config.maxLeasesForWorker, Number.POSITIVE_INFINITY);
    assert.equal(load(MINIMAL + 'maxLeasesForWorker = 5').config.maxLeasesForWorker, 5);
  });

  test('numbers accept a sign and exponent, not hex or Infinity', () => {
    assert.equal(load(MINIMAL + 'failoverTimeMillis = +2e4').config.failoverTimeMillis, 20_000);
    errorFor('failoverTimeMillis = Infinity', 'failoverTimeMillis', '"Infinity"');
  });
});

describe('initial position and timestamp', () => {
  test('positions are case-insensitive', () => {
    assert.equal(load(MINIMAL + 'initialPositionInStream = TriM_Horizon').config.initialPositionInStream, 'TRIM_HORIZON');
    assert.equal(load(MINIMAL + 'initialPositionInStream = LateSt').config.initialPositionInStream, 'LATEST');
  });

  test('initialPositionInStreamExtended (epoch seconds) → AT_TIMESTAMP', () => {
    const { config } = load(MINIMAL + 'initialPositionInStreamExtended = 1617406032');
    assert.equal(config.initialPositionInStream, 'AT_TIMESTAMP');
    assert.equal(config.initialPositionTimestamp?.getTime(), 1_617_406_032_000);
  });

  test('fractional seconds', () => {
    const { config } = load(MINIMAL + 'initialPositionInStreamExtended = 1617406032.25');
    assert.equal(config.initialPositionTimestamp?.getTime(), 1_617_406_032_250);
  });

  test('the 1.x name timestampAtInitialPositionInStream', () => {
    const { config } = load(MINIMAL + 'initialPositionInStream = AT_TIMESTAMP\ntimestampAtInitialPositionInStream = 1600000000');
    assert.equal(config.initialPositionInStream, 'AT_TIMESTAMP');
    assert.equal(config.initialPositionTimestamp?.getTime(), 1_600_000_000_000);
  });

  test('initialPositionInStreamExtended wins over the 1.x name', () => {
    const { config, warnings } = load(MINIMAL + 'timestampAtInitialPositionInStream = 1600000000\ninitialPositionInStreamExtended = 1617406032');
    assert.equal(config.initialPositionTimestamp?.getTime(), 1_617_406_032_000);
    assert.equal(warnings.length, 1);
  });

  test('the timestamp wins over another position, with a warning', () => {
    const { config, warnings } = load(MINIMAL + 'initialPositionInStream = TRIM_HORIZON\ninitialPositionInStreamExtended = 1617406032');
    assert.equal(config.initialPositionInStream, 'AT_TIMESTAMP');
    assert.equal(config.initialPositionTimestamp?.getTime(), 1_617_406_032_000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /TRIM_HORIZON/);
  });
});

describe('metrics keys', () => {
  test('metricsLevel and metricsEnabledDimensions, in any case; ALL means every dimension', () => {
    const { config } = load(MINIMAL + 'metricsLevel = summary\nmetricsEnabledDimensions = shardid, WorkerIdentifier');
    assert.equal(config.metricsLevel, 'SUMMARY');
    assert.deepEqual(config.metricsEnabledDimensions, ['ShardId', 'WorkerIdentifier']);
    assert.deepEqual(load(MINIMAL + 'metricsEnabledDimensions = ALL').config.metricsEnabledDimensions, ['Operation', 'ShardId', 'WorkerIdentifier', 'StreamId']);
    errorFor('metricsLevel = verbose', 'metricsLevel', '"verbose"');
    errorFor('metricsEnabledDimensions = ShardId, Region', 'metricsEnabledDimensions', '"ShardId, Region"');
  });

  test('the CloudWatch endpoint and credentials, and the metrics server', () => {
    const { config } = load(MINIMAL + 'cloudWatchEndpoint = http://127.0.0.1:9999\nAWSCredentialsProviderCloudWatch = EnvironmentVariableCredentialsProvider\nmetricsHttpPort = 9464');
    assert.equal(config.cloudWatchEndpoint, 'http://127.0.0.1:9999');
    assert.equal(config.awsCredentialsProviderCloudWatch, 'EnvironmentVariableCredentialsProvider');
    assert.equal(config.awsCredentialsProvider, 'DefaultCredentialsProvider');
    assert.equal(config.metricsHttpPort, 9464);
    assert.equal(config.metricsHttpHost, '127.0.0.1');
    errorFor('metricsHttpPort = 70000', 'metricsHttpPort', '"70000"');
  });
});

describe('retrieval mode (the Java daemon\'s rule)', () => {
  const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/app:1700000000';

  test('no retrieval key: enhanced fan-out, as consumer applicationName', () => {
    const { config } = load(MINIMAL);
    assert.equal(config.retrievalMode, 'FANOUT');
    assert.equal(config.consumerName, 'app');
    assert.equal(config.consumerArn, undefined);
  });

  test('any polling key set: polling, and the reason names it', () => {
    for (const line of ['maxRecords = 10', 'idleTimeBetweenReadsInMillis = 250', 'millisBehindLatestThresholdForReducedTps = 1000', 'retryGetRecordsInSeconds = 2', 'maxGetRecordsThreadPool = 4']) {
      const { config, warnings } = load(`${MINIMAL}${line}`);
      const key = line.split(' ')[0] ?? '';
      assert.equal(config.retrievalMode, 'POLLING', line);
      assert.match(config.retrievalModeReason, new RegExp(`polling key ${key} is set`), line);
      assert.deepEqual(warnings, [], line);
    }
  });

  test('retrievalMode wins over polling keys, in any case; DEFAULT means the rule', () => {
    assert.equal(load(MINIMAL + 'retrievalMode = fanout\nmaxRecords = 10').config.retrievalMode, 'FANOUT');
    assert.equal(load(MINIMAL + 'retrievalMode = polling').config.retrievalMode, 'POLLING');
    assert.equal(load(MINIMAL + 'retrievalMode = Default').config.retrievalMode, 'FANOUT');
    assert.equal(load(MINIMAL + 'retrievalMode = DEFAULT\nidleTimeBetweenReadsInMillis = 300').config.retrievalMode, 'POLLING');
  });

  test('an unknown retrieval mode is an error naming the allowed ones', () => {
    errorFor('retrievalMode = invalid', 'retrievalMode', '"invalid"');
    assert.throws(() => load(MINIMAL + 'retrievalMode = invalid'), /FANOUT, POLLING/);
  });

  test('the same rule in code: fan-out by default, polling when a polling field is given', () => {
    assert.equal(buildConfig({ streamName: 's', applicationName: 'app' }).retrievalMode, 'FANOUT');
    assert.equal(buildConfig({ streamName: 's', applicationName: 'app', idleTimeBetweenReadsInMillis: 200 }).retrievalMode, 'POLLING');
    assert.equal(buildConfig({ streamName: 's', applicationName: 'app', retrievalMode: 'FANOUT', maxRecords: 100 }).retrievalMode, 'FANOUT');
    // A built config keeps its mode when built again (the worker rebuilds what it is given).
    const built = buildConfig({ streamName: 's', applicationName: 'app', maxRecords: 100 });
    assert.deepEqual(buildConfig(built), built);
  });

  test('fanoutConfig.consumerName and fanoutConfig.consumerArn', () => {
    const { config } = load(`${MINIMAL}fanoutConfig.consumerName = reader-1\nfanoutConfig.consumerArn = ${ARN}`);
    assert.equal(config.consumerName, 'reader-1');
    assert.equal(config.consumerArn, ARN);
    errorFor('fanoutConfig.consumerName = has space', 'fanoutConfig.consumerName', '"has space"');
    errorFor('fanoutConfig.consumerArn = arn:aws:kinesis:us-east-1:123456789012:stream/s', 'fanoutConfig.consumerArn', 'stream/s"');
  });

  test("a consumer ARN of another stream is refused, naming both streams", () => {
    assert.throws(
      () => buildConfig({ streamName: 'orders', applicationName: 'app', consumerArn: ARN }),
      (err: unknown) => err instanceof ConfigError && /consumerArn.*stream "s", not of "orders"/.test(err.message),
    );
  });
});

describe('overrides and files', () => {
  test('overrides win over the file; undefined overrides are ignored', () => {
    const { config } = load(MINIMAL + 'maxRecords = 50\nregionName = eu-west-1', { maxRecords: 7, regionName: undefined });
    assert.equal(config.maxRecords, 7);
    assert.equal(config.regionName, 'eu-west-1');
  });

  test('overrides can supply a required key and are validated', () => {
    assert.equal(load('applicationName = app', { streamName: 'from-flag' }).config.streamName, 'from-flag');
    assertConfigError(() => load(MINIMAL, { maxRecords: 0 }), 'maxRecords', '0');
  });

  test('a missing file is a ConfigError naming the path', async () => {
    const path = join(tmpdir(), 'kcl-missing-dir', 'app.properties');
    await assert.rejects(loadPropertiesConfig(path), (err: unknown) => err instanceof ConfigError && err.message.includes(path));
  });

  test('a bad value in a file names the path and the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kcl-config-'));
    try {
      const path = join(dir, 'app.properties');
      await writeFile(path, MINIMAL + 'maxRecords = lots\n');
      await assert.rejects(loadPropertiesConfig(path), (err: unknown) =>
        err instanceof ConfigError && err.key === 'maxRecords' && err.message.includes(path) && err.message.includes('"lots"'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('several bad values', () => {
  /** The ConfigError thrown by `fn`, checked to be one. */
  function configError(fn: () => unknown): ConfigError {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      return err;
    }
    assert.fail('expected a ConfigError');
  }

  test('a properties file reports all of them in one error, one per line, in table order', () => {
    const err = configError(() =>
      load(MINIMAL + 'maxRecords = 0\ncleanupLeasesUponShardCompletion = maybe\nfailoverTimeMillis = -5\n'
        + 'initialPositionInStream = EARLIEST\nkinesisEndpoint = localhost:4567'),
    );
    const lines = [
      'kinesisEndpoint: "localhost:4567" is not an http(s) URL; expected a URL with an http or https scheme, e.g. "http://localhost:4567"',
      'initialPositionInStream: "EARLIEST" is not a valid initial position; expected one of LATEST, TRIM_HORIZON, AT_TIMESTAMP (case-insensitive)',
      'failoverTimeMillis: "-5" is out of range; expected a number greater than 0',
      'maxRecords: "0" is out of range; expected an integer from 1 to 10000',
      'cleanupLeasesUponShardCompletion: "maybe" is not a boolean; expected one of true, false, yes, no, y, n, on, off, 1, 0 (case-insensitive)',
    ];
    assert.equal(err.message, lines.join('\n'));
    assert.deepEqual(err.problems.map((p) => p.key), ['kinesisEndpoint', 'initialPositionInStream', 'failoverTimeMillis', 'maxRecords', 'cleanupLeasesUponShardCompletion']);
    assert.deepEqual(err.problems.map((p) => p.message), lines);
    assert.equal(err.key, 'kinesisEndpoint');
  });

  test('missing required keys are reported after the bad values', () => {
    const err = configError(() => load('maxRecords = abc'));
    assert.deepEqual(err.problems.map((p) => p.key), ['maxRecords', 'streamName', 'applicationName']);
  });

  test('a config built in code reports all of them too', () => {
    const err = configError(() =>
      buildConfig({ streamName: ' ', applicationName: 'app', maxRecords: 1.5, taskBackoffTimeMillis: -1, epsilonMillis: 5000 }),
    );
    assert.deepEqual(err.problems.map((p) => p.message), [
      'streamName: " " is blank; expected a Kinesis stream name',
      'maxRecords: 1.5 is not an integer; expected an integer from 1 to 10000',
      'taskBackoffTimeMillis: -1 is out of range; expected a number >= 0',
      'epsilonMillis: 5000 is too large; expected a number >= 0 and less than failoverTimeMillis / 3 (3333.33)',
    ]);
  });

  test('a value refused in the file is not reported again as missing or by a rule that depends on it', () => {
    // A bad streamArn leaves no stream name, but "streamName: missing" would only be noise.
    assert.deepEqual(configError(() => load('applicationName = app\nstreamArn = nope')).problems.map((p) => p.key), ['streamArn']);
    // AT_TIMESTAMP with a bad timestamp: the timestamp is the one problem.
    const at = configError(() => load(MINIMAL + 'initialPositionInStream = AT_TIMESTAMP\ninitialPositionInStreamExtended = soon'));
    assert.deepEqual(at.problems.map((p) => p.key), ['initialPositionInStreamExtended']);
    // A blank application name is one problem, not also "not a valid lease table name".
    assert.deepEqual(configError(() => buildConfig({ streamName: 's', applicationName: '' })).problems.map((p) => p.key), ['applicationName']);
    // An invalid failover time is not compared with epsilon.
    assert.deepEqual(configError(() => buildConfig({ streamName: 's', applicationName: 'app', failoverTimeMillis: 0 })).problems.map((p) => p.key), ['failoverTimeMillis']);
  });

  test('from a file, every line names the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kcl-config-'));
    try {
      const path = join(dir, 'app.properties');
      await writeFile(path, MINIMAL + 'maxRecords = lots\nshardSyncIntervalMillis = 0\n');
      await assert.rejects(loadPropertiesConfig(path), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.key, 'shardSyncIntervalMillis');
        const lines = err.message.split('\n');
        assert.equal(lines.length, 2);
        for (const line of lines) assert.ok(line.startsWith(`${path}: `), line);
        assert.deepEqual(err.problems.map((p) => p.message), lines);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
