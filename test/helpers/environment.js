// Jest runs tests in a separate realm; onnxruntime checks `instanceof Float32Array` against
// arrays its native binding makes in the main realm. Share the main realm's typed arrays.
const { TestEnvironment } = require('jest-environment-node');

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'ArrayBuffer',
      'SharedArrayBuffer',
      'DataView',
      'Float32Array',
      'Float64Array',
      'Int8Array',
      'Uint8Array',
      'Uint8ClampedArray',
      'Int16Array',
      'Uint16Array',
      'Int32Array',
      'Uint32Array',
      'BigInt64Array',
      'BigUint64Array',
    ]) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = SharedTypedArraysEnvironment;
