/** The TCP fault proxy lives with the chaos run that owns one per worker; tests import it from here as before. */
export { FaultProxy, type FaultKind, type FaultProxyStats } from '../../bench/chaos/fault-proxy.js';
