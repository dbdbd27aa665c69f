/**
 * Preload for kinesalite in benchmarks (`node --require ./bench/kinesalite-cbor.cjs node_modules/kinesalite/cli.js`):
 * kinesalite encodes its CBOR answers with cbor 5.x's `Encoder.encodeOne`, which returns only what fits in the
 * stream's 16 KB high-water mark, so any CBOR answer longer than that (a GetRecords page of more than about ten
 * 1 KB records) arrives cut short. This gives the encoder room for the whole answer. Only for emulator processes
 * that benchmarks start; nothing in src/ needs or loads it.
 */
'use strict';
const { Encoder } = require('cbor');

Encoder.encodeOne = function encodeOne(obj, options) {
  return new Encoder({ ...options, highWaterMark: 1 << 30 })._encodeAll([obj]);
};
