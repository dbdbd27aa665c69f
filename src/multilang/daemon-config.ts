/**
 * The daemon's own configuration: the keys only `kcl multilang` (and `kcl demo --properties`) reads, in a field
 * table of their own built on config/'s machinery. They come from the same properties file as the core's keys;
 * `loadDaemonProperties` reads both and reports every bad value of either in one ConfigError.
 */

import type { KclConfig, KclConfigInput } from '../config/config.js';
import { type DaemonKey, notActedOn } from '../config/fields.js';
import { checkConfig, configFromValues, mapPropertiesFile, normaliseProperties, type PropertiesConfigOptions } from '../config/load.js';
import {
  anyStringKind,
  type ConfigOf,
  type AnyField,
  type InputOf,
  NON_NEGATIVE,
  numberKind,
  optional,
  POSITIVE,
  Problems,
  readFields,
  required,
  textKind,
  validateFields,
} from '../config/schema.js';

/** How long a graceful shutdown may take when `shutdownGraceMillis` is not set (Java's default, 0, cuts it short). */
export const DEFAULT_SHUTDOWN_GRACE_MILLIS = 30_000;

/** The daemon's keys; the core knows their names (DAEMON_KEYS) so it does not warn about them. */
export const DAEMON_FIELDS = {
  executableName: required(textKind('the command that runs your record processor, e.g. "python3 app.py"'), {
    doc: 'the command started once per shard lease (split on spaces, no shell, looked up on PATH)',
  }),
  timeoutInSeconds: optional(numberKind(POSITIVE), {
    doc: 'how long the daemon waits for each message from a child before replacing it',
    defaultDoc: 'wait for ever',
  }),
  shutdownGraceMillis: optional(numberKind(NON_NEGATIVE), {
    doc: 'how long a graceful shutdown may take (0 = the default)',
    defaultDoc: String(DEFAULT_SHUTDOWN_GRACE_MILLIS),
  }),
  processingLanguage: optional(anyStringKind, { doc: 'the child\'s language', defaultDoc: 'none', notActedOn: notActedOn('daemon') }),
} satisfies Record<DaemonKey, AnyField>;

export interface DaemonConfig extends ConfigOf<typeof DAEMON_FIELDS> {}
export interface DaemonConfigInput extends InputOf<typeof DAEMON_FIELDS> {}

/** A daemon's whole configuration: the worker's and its own. */
export interface DaemonSetup {
  config: KclConfig;
  daemon: DaemonConfig;
}

/** Validates the daemon's keys given in code; throws one ConfigError listing every bad value. */
export function buildDaemonConfig(input: DaemonConfigInput): DaemonConfig {
  const problems = new Problems();
  const daemon = validateFields(DAEMON_FIELDS, input, problems) as DaemonConfig;
  problems.throwIfAny();
  return daemon;
}

/**
 * Reads a properties file's core and daemon keys (each warning given once, unknown keys included) and reports
 * every bad value of both in one ConfigError.
 */
export function daemonSetupFromProperties(props: Map<string, string>, options: PropertiesConfigOptions = {}): DaemonSetup {
  const warn = options.onWarning ?? (() => {});
  const problems = new Problems();
  const values = normaliseProperties(props, warn);
  const config = configFromValues(values, problems, options);
  const file = readFields(DAEMON_FIELDS, values, problems, warn);
  const daemon = validateFields(DAEMON_FIELDS, file.input, problems, { skip: file.failed, fromFile: true }) as DaemonConfig;
  problems.throwIfAny();
  return { config, daemon };
}

export async function loadDaemonProperties(path: string, options: PropertiesConfigOptions = {}): Promise<DaemonSetup> {
  return mapPropertiesFile(path, (props) => daemonSetupFromProperties(props, options));
}

/** Validates a config written in code for a daemon (core and daemon keys together), reporting every bad value. */
export function buildDaemonSetup(input: KclConfigInput & DaemonConfigInput): DaemonSetup {
  const problems = new Problems();
  // Each table reads only its own fields, so the combined input needs no splitting.
  const config = checkConfig(input, problems);
  const daemon = validateFields(DAEMON_FIELDS, input, problems) as DaemonConfig;
  problems.throwIfAny();
  return { config, daemon };
}
