/**
 * config/ owns the typed KCL configuration: the field table every key is written in once (fields.ts, on the
 * machinery of schema.ts), the types, defaults and validation derived from it (config.ts, load.ts), the
 * Java-style `.properties` reader (properties.ts) and the README key table's renderer (docs.ts). It must not
 * touch AWS or any other part of the library; other tables (the daemon's, in multilang/) build on its machinery.
 *
 * This file is the folder's public face: the typed configuration, the `.properties` reader and the loaders.
 */

export { DEFAULTS, type InitialPosition, type KclConfig, type KclConfigInput } from './config.js';
export { decodePropertiesBytes, parseProperties, readPropertiesFile } from './properties.js';
export {
  ACCEPTED_NOT_ACTED_ON,
  buildConfig,
  configFromProperties,
  loadPropertiesConfig,
  type PropertiesConfigOptions,
} from './load.js';
