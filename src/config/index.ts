/** The public face of config/: the typed configuration, the `.properties` reader and the loaders. */

export { DEFAULTS, type InitialPosition, type KclConfig, type KclConfigInput } from './config.js';
export { decodePropertiesBytes, parseProperties, readPropertiesFile } from './properties.js';
export {
  ACCEPTED_NOT_ACTED_ON,
  buildConfig,
  configFromProperties,
  loadPropertiesConfig,
  type PropertiesConfigOptions,
} from './load.js';
