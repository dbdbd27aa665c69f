/** The child side of bench/multilang.ts: the shared counting logic under the protocol runner. */
import { runChildProcessor } from '../src/multilang/index.js';
import { countingProcessor } from './counting-logic.js';

await runChildProcessor(countingProcessor());
