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
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;
}

export type NativeSession = { readonly __native: unique symbol };

export interface NativeSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  logSeverityLevel?: number;
  /** onnxruntime's environment log level (0 verbose ... 4 fatal), from env.logLevel */
  envLogSeverityLevel?: number;
  executionMode?: 'sequential' | 'parallel';
  /** besides the CPU: 'webgpu' (lp nodes stay on the CPU kernels), 'cuda' (lp nodes on the CUDA kernels) */
  executionProviders?: string[];
  /** onnxruntime session configuration entries (key, value), from the options' `extra` */
  configEntries?: [string, string][];
  /** the CPU kernels' instruction-set path, in place of LP_ONNX_CPU_ISA (the tests run every path this way) */
  cpuIsa?: 'auto' | 'avx512' | 'avx2' | 'plain';
}

/**
 * Measured peaks of the instructions the CPU kernels use, on operands in registers (or streaming
 * through memory), all threads at once; per second, a vector counting its lanes (kernels/cpu/peaks.h).
 */
export interface NativePeaks {
  lanes: number;
  /** fused multiply-adds */
  fma: number;
  /** acc += min(x, w): L1Conv's step */
  minAdd: number;
  /** acc += w 2^(p l): per-unit LpNorm's step */
  exp2Dot: number;
  /** r^p = 2^(p log2 r): LpPool's term for a p that is no small integer */
  powTerm: number;
  /** acc += x */
  add: number;
  /** bytes read, streaming through memory far larger than the caches */
  readBytes: number;
  /** bytes written so */
  writeBytes: number;
}

interface Binding {
  init(libonnxruntime: string): string;
  createSession(model: Uint8Array | string, options: NativeSessionOptions): NativeSession;
  sessionInfo(session: NativeSession): NativeSessionInfo;
  /** given: per output, null or the caller's own tensor, written in place and returned as its data */
  run(
    session: NativeSession,
    names: string[],
    types: string[],
    dims: number[][],
    data: ArrayBufferView[],
    outputs: string[],
    given?: ({ type: string; dims: readonly number[]; data: ArrayBufferView } | null)[],
  ): Promise<NativeOutput[]>;
  release(session: NativeSession): void;
  peaks(isa: string, threads: number): NativePeaks;
  quietStderr(on: boolean): void;
  /** only in the test build on the CUDA emulation: the compute capability its device reports */
  setEmulatedSm?(sm: number): void;
}

const ROOT = packageRoot();
// LP_ONNX_NATIVE_BUILD: another build folder (the sanitizer build, build/Sanitize)
const BUILD = process.env.LP_ONNX_NATIVE_BUILD || join(ROOT, 'build', 'Release');
export const ADDON_PATH = join(BUILD, 'lp_onnx.node');
export const OPS_LIBRARY_PATH = join(BUILD, 'liblp_onnx_ops.so');
/** the Python package of the PyTorch layers (python/lp_onnx_torch), shipped in the npm package */
export const PYTHON_PACKAGE = join(ROOT, 'python');
const STATUS_PATH = join(ROOT, 'build', 'native-status.json');

/** onnxruntime-node's libonnxruntime.so.1 (the addon registers the kernels into that runtime). */
export function onnxruntimeLibrary(): string {
  // onnxruntime-node's main module is <package>/dist/index.js
  const pkg = dirname(dirname(require.resolve('onnxruntime-node', { paths: [ROOT] })));
  const arch = process.arch === 'x64' ? 'x64' : process.arch;
  return join(pkg, 'bin', 'napi-v6', process.platform, arch, 'libonnxruntime.so.1');
}

export interface CudaBuildStatus {
  built: boolean;
  archs?: string[];
  ptx?: string;
  toolkit?: string;
  reason?: string;
}

/** build/native-status.json, written by the install step (scripts/build-native.js). */
export interface NativeBuildStatus {
  ok: boolean;
  /** 'prebuilt': the package's binaries were copied in; 'built here': compiled at install */
  source?: 'prebuilt' | 'built here';
  prebuilt?: { platform: string; glibc: string; napi: number; compiler: string; built: string };
  /** why the package's prebuilt binaries were not used, when they were not */
  prebuiltSkipped?: string;
  reason?: string;
  cuda?: CudaBuildStatus;
}

export function nativeBuildStatus(): NativeBuildStatus | undefined {
  try {
    return JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as NativeBuildStatus;
  } catch {
    return undefined;
  }
}

/** Whether the native build carries the CUDA kernels (build/native-status.json), and why not. */
export function cudaBuildStatus(): CudaBuildStatus {
  const s = nativeBuildStatus();
  if (!s) return { built: false, reason: 'the native part is not built' };
  if (!s.ok) return { built: false, reason: `the native build failed: ${s.reason}` };
  return s.cuda ?? { built: false, reason: 'built before the CUDA kernels existed (rebuild: npm run build:native)' };
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
      const s = nativeBuildStatus();
      if (s && !s.ok && s.reason) why = `the build failed: ${s.reason}`;
      loaded = { reason: `the native kernels are missing (${ADDON_PATH}): ${why}` };
      return loaded;
    }
    loaded = loadAddon(ADDON_PATH);
  } catch (e) {
    loaded = { reason: `the native kernels could not be loaded: ${(e as Error).message}` };
  }
  return loaded;
}

function loadAddon(path: string): { binding: Binding; ortVersion: string } {
  require('onnxruntime-node');
  const binding = require(path) as Binding;
  return { binding, ortVersion: binding.init(onnxruntimeLibrary()) };
}

const variants = new Map<string, { binding?: Binding; reason?: string }>();

/**
 * The addon of another build folder, beside the one lp-onnx/node uses: the tests load
 * build/CudaEmulation (the CUDA kernels on the CPU emulation) this way. Both share one runtime.
 */
export function nativeVariant(folder: string): { binding?: Binding; reason?: string } {
  const known = variants.get(folder);
  if (known) return known;
  const path = join(folder, 'lp_onnx.node');
  let v: { binding?: Binding; reason?: string };
  try {
    v = existsSync(path) ? { binding: loadAddon(path).binding } : { reason: `${path} is not built` };
  } catch (e) {
    v = { reason: `${path} could not be loaded: ${(e as Error).message}` };
  }
  variants.set(folder, v);
  return v;
}

/** The measured instruction peaks of one instruction-set path ('': the one sessions take, LP_ONNX_CPU_ISA or the CPU's best; 'auto': the best) on `threads` threads; about a second. */
export function measurePeaks(isa: string, threads: number): NativePeaks {
  const { binding, reason } = native();
  if (!binding) throw new Error(reason);
  return binding.peaks(isa, threads);
}

/**
 * Runs FN with file descriptor 2 sent to /dev/null, where the addon is built (else as it is):
 * for native libraries that print to stderr themselves (Dawn's adapter discovery).
 */
export async function withQuietStderr<T>(fn: () => Promise<T>): Promise<T> {
  const { binding } = native();
  if (!binding || typeof binding.quietStderr !== 'function') return fn();
  binding.quietStderr(true);
  try {
    return await fn();
  } finally {
    binding.quietStderr(false);
  }
}
