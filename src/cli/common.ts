/**
 * Options shared by every CLI command that talks to AWS: endpoints and region, with the standard AWS
 * environment variables as fallbacks (the SDK reads AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ... itself).
 */
import { Command, Option } from 'commander';
import type { AwsClientOptions } from '../aws/clients.js';

export interface AwsCliOptions {
  kinesisEndpoint?: string;
  dynamodbEndpoint?: string;
  region?: string;
}

export function addAwsOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--kinesis-endpoint <url>', 'Kinesis endpoint URL (e.g. http://127.0.0.1:4568 for kcl local)').env('KCL_KINESIS_ENDPOINT'))
    .addOption(new Option('--dynamodb-endpoint <url>', 'DynamoDB endpoint URL').env('KCL_DYNAMODB_ENDPOINT'))
    .addOption(new Option('--region <region>', 'AWS region (default: AWS_REGION or the SDK default chain)'));
}

export function awsClientOptions(opts: AwsCliOptions): AwsClientOptions {
  return { region: opts.region, kinesisEndpoint: opts.kinesisEndpoint, dynamoDBEndpoint: opts.dynamodbEndpoint };
}

/** Parses a positive integer option or fails with the option's name in the message. */
export function positiveInt(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}
