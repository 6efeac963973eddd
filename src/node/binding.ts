// The only module that loads the native addon (build/Release/lp_onnx.node) and declares its
// interface. The addon runs inside onnxruntime-node's own libonnxruntime.so.1.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../version';

export interface NativeValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}

export interface NativeSessionInfo {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: NativeValueMetadata[];
  outputMetadata: NativeValueMetadata[];
}

export interface NativeOutput {
  name: string;
  type: string;
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
}

export type NativeSession = { readonly __native: unique symbol };

export interface NativeSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  logSeverityLevel?: number;
  executionMode?: 'sequential' | 'parallel';
  /** besides the CPU: 'webgpu', 'cuda' (lp nodes stay on the CPU kernels) */
  executionProviders?: string[];
}

interface Binding {
  init(libonnxruntime: string): string;
  createSession(model: Uint8Array | string, options: NativeSessionOptions): NativeSession;
  sessionInfo(session: NativeSession): NativeSessionInfo;
  run(session: NativeSession, names: string[], types: string[], dims: number[][], data: ArrayBufferView[], outputs: string[]): Promise<NativeOutput[]>;
  release(session: NativeSession): void;
}

const ROOT = packageRoot();
// LP_ONNX_NATIVE_BUILD: another build folder (the sanitizer build, build/Sanitize)
const BUILD = process.env.LP_ONNX_NATIVE_BUILD || join(ROOT, 'build', 'Release');
export const ADDON_PATH = join(BUILD, 'lp_onnx.node');
export const OPS_LIBRARY_PATH = join(BUILD, 'liblp_onnx_ops.so');
const STATUS_PATH = join(ROOT, 'build', 'native-status.json');

/** onnxruntime-node's libonnxruntime.so.1 (the addon registers the kernels into that runtime). */
export function onnxruntimeLibrary(): string {
  // onnxruntime-node's main module is <package>/dist/index.js
  const pkg = dirname(dirname(require.resolve('onnxruntime-node', { paths: [ROOT] })));
  const arch = process.arch === 'x64' ? 'x64' : process.arch;
  return join(pkg, 'bin', 'napi-v6', process.platform, arch, 'libonnxruntime.so.1');
}

let loaded: { binding?: Binding; ortVersion?: string; reason?: string } | undefined;

/** The addon, or why it is not there. Loads onnxruntime-node first so both share one runtime. */
export function native(): { binding?: Binding; ortVersion?: string; reason?: string } {
  if (loaded) return loaded;
  if (process.env.LP_ONNX_NATIVE === 'off') {
    loaded = { reason: 'the native kernels are switched off (LP_ONNX_NATIVE=off)' };
    return loaded;
  }
  try {
    if (!existsSync(ADDON_PATH)) {
      let why = 'it was not built';
      if (existsSync(STATUS_PATH)) {
        const s = JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as { ok: boolean; reason?: string };
        if (!s.ok && s.reason) why = `the build failed: ${s.reason}`;
      }
      loaded = { reason: `the native kernels are missing (${ADDON_PATH}): ${why}` };
      return loaded;
    }
    require('onnxruntime-node');
    const binding = require(ADDON_PATH) as Binding;
    const ortVersion = binding.init(onnxruntimeLibrary());
    loaded = { binding, ortVersion };
  } catch (e) {
    loaded = { reason: `the native kernels could not be loaded: ${(e as Error).message}` };
  }
  return loaded;
}
