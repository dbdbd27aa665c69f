/**
 * The typed configuration, derived from the field table in fields.ts (so a key is written once, there).
 */

import { CORE_FIELDS, INITIAL_POSITIONS } from './fields.js';
import { type ConfigOf, defaultsOf, type InputOf } from './schema.js';

export type InitialPosition = (typeof INITIAL_POSITIONS)[number];

/**
 * Everything a worker needs. Built by `buildConfig()` from code, or by `loadPropertiesConfig()` from a file; what
 * each field means is the `doc` of its row in fields.ts (and the README's key table).
 */
// An interface (not a type alias) so messages and hovers say "KclConfig" rather than spelling out every field.
export interface KclConfig extends ConfigOf<typeof CORE_FIELDS> {}

/** What a caller must give (streamName and applicationName); everything else has a default. */
export interface KclConfigInput extends InputOf<typeof CORE_FIELDS> {}

type Defaulted = { [K in keyof typeof CORE_FIELDS]: (typeof CORE_FIELDS)[K] extends { default: unknown } ? K : never }[keyof typeof CORE_FIELDS];

/** The constant defaults (tableName = applicationName and a random workerId are filled by `buildConfig`). */
export const DEFAULTS = defaultsOf(CORE_FIELDS) as Readonly<Pick<KclConfig, Defaulted>>;
