// lp-onnx/node: onnxruntime-node with the lp-onnx kernels. Import this instead of onnxruntime-node:
// the same InferenceSession, Tensor and env, but CPU sessions run in onnxruntime-node's own runtime
// with the com.lponnx domain registered, so lp nodes run as fused kernels instead of their
// function bodies. A model without lp nodes runs exactly as in onnxruntime-node. When the native
// kernels are missing, nothing is registered and every model runs on its function bodies.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { LP_DOMAIN } from '../../ops/types';
import { checkLpAttributes, checkLpTypes } from '../graph/infer';
import { decodeModel } from '../onnx/codec';
import { type NativeSession, type NativeSessionInfo, type NativeSessionOptions, native } from './binding';

export * from 'onnxruntime-node';

type Feeds = Record<string, ort.Tensor>;
type SessionHandlerResult = Record<string, ort.Tensor>;

const LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
/** onnxruntime-common's env.logLevel names, by severity (0 verbose ... 4 fatal) */
const ENV_LEVELS = ['verbose', 'info', 'warning', 'error', 'fatal'] as const;

/** The execution providers a caller asked for (onnxruntime-common hands the backend its own list). */
const REQUESTED = Symbol('lp-onnx.executionProviders');

function nativeOptions(o: ort.InferenceSession.SessionOptions = {}): NativeSessionOptions {
  const out: NativeSessionOptions = {};
  const requested = (o as Record<symbol, string[] | undefined>)[REQUESTED];
  if (requested) out.executionProviders = requested.filter((e) => e !== 'cpu');
  if (o.intraOpNumThreads !== undefined) out.intraOpNumThreads = o.intraOpNumThreads;
  if (o.interOpNumThreads !== undefined) out.interOpNumThreads = o.interOpNumThreads;
  if (o.graphOptimizationLevel !== undefined) {
    const level = o.graphOptimizationLevel as string;
    if (!(LEVELS as readonly string[]).includes(level)) throw new TypeError(`lp-onnx/node: graphOptimizationLevel '${level}' is not one of ${LEVELS.join(', ')}`);
    out.graphOptimizationLevel = level as NativeSessionOptions['graphOptimizationLevel'];
  }
  if (o.logSeverityLevel !== undefined) out.logSeverityLevel = o.logSeverityLevel;
  const envLevel = ENV_LEVELS.indexOf(ort.env.logLevel as (typeof ENV_LEVELS)[number]);
  if (envLevel >= 0) out.envLogSeverityLevel = envLevel;
  if (o.executionMode !== undefined) out.executionMode = o.executionMode;
  if (o.extra !== undefined) out.configEntries = configEntries(o.extra);
  return out;
}

/**
 * `extra`, onnxruntime's session configuration entries as onnxruntime-node takes them: nested
 * objects name the key's parts (`{ session: { intra_op: { allow_spinning: '0' } } }` is
 * session.intra_op.allow_spinning = "0"); values are strings, as onnxruntime-node requires too.
 */
function configEntries(extra: unknown, prefix = ''): [string, string][] {
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new TypeError(`lp-onnx/node: extra${prefix ? ` '${prefix}'` : ''} must be an object of configuration entries`);
  return Object.entries(extra as Record<string, unknown>).flatMap(([k, v]): [string, string][] => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') return [[key, v]];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return configEntries(v, key);
    throw new TypeError(`lp-onnx/node: extra '${key}' must be a string (or an object of entries), got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`);
  });
}

/** An onnxruntime-common session handler over a native session. */
class NativeSessionHandler {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  private session: NativeSession | undefined;

  constructor(session: NativeSession, info: NativeSessionInfo) {
    this.session = session;
    this.inputNames = info.inputNames;
    this.outputNames = info.outputNames;
    this.inputMetadata = info.inputMetadata as unknown as ort.InferenceSession.ValueMetadata[];
    this.outputMetadata = info.outputMetadata as unknown as ort.InferenceSession.ValueMetadata[];
  }

  async run(feeds: Feeds, fetches: Record<string, unknown>): Promise<SessionHandlerResult> {
    const { binding } = native();
    if (!binding || !this.session) throw new Error('lp-onnx/node: the session has been released');
    const names = Object.keys(feeds);
    const tensors = names.map((n) => feeds[n]);
    for (const [i, t] of tensors.entries()) {
      if (t.location !== undefined && t.location !== 'cpu') throw new TypeError(`input '${names[i]}': only CPU tensors are supported, got location '${t.location}'`);
    }
    // fetches: an output given as a tensor (onnxruntime-common's pre-allocated output) is written in
    // place, with no allocation and no fresh pages per run; null lets onnxruntime allocate it
    const outNames = Object.keys(fetches);
    const given = outNames.map((n) => {
      const v = fetches[n];
      if (v === null || v === undefined) return null;
      if (!(v instanceof ort.Tensor)) throw new TypeError(`output '${n}': a pre-allocated output must be a Tensor, got ${typeof v}`);
      if (v.location !== 'cpu') throw new TypeError(`output '${n}': only CPU tensors can be pre-allocated outputs, got location '${v.location}'`);
      return { type: v.type, dims: v.dims, data: v.data as ArrayBufferView };
    });
    const outputs = await binding.run(
      this.session,
      names,
      tensors.map((t) => t.type),
      tensors.map((t) => [...t.dims]),
      tensors.map((t) => t.data as ArrayBufferView),
      outNames,
      given.some((g) => g) ? given : undefined,
    );
    const result: SessionHandlerResult = {};
    for (const [i, o] of outputs.entries()) {
      const own = fetches[outNames[i]];
      result[o.name] = given[i] && own instanceof ort.Tensor ? own : new ort.Tensor(o.type as 'float32', o.data as Float32Array, o.dims);
    }
    return result;
  }

  async dispose(): Promise<void> {
    const { binding } = native();
    if (binding && this.session) binding.release(this.session);
    this.session = undefined;
  }

  startProfiling(): void {}
  endProfiling(): void {}
}

const backend = {
  async init(): Promise<void> {},
  async createInferenceSessionHandler(model: string | Uint8Array, options?: ort.InferenceSession.SessionOptions) {
    const { binding, reason } = native();
    if (!binding) throw new Error(reason);
    // The kernels see no attribute names (onnxruntime's custom-op schemas accept any): the lp
    // nodes' attributes are checked against ops/ here (a model without the domain's name in its
    // bytes has none); everything else the kernels check.
    const what = typeof model === 'string' ? model : 'model';
    const bytes = typeof model === 'string' ? readFileSync(model) : model;
    if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(LP_DOMAIN)) {
      const decoded = decodeModel(bytes, what);
      checkLpAttributes(decoded, what);
      checkLpTypes(decoded, what);
    }
    const session = binding.createSession(model, nativeOptions(options));
    return new NativeSessionHandler(session, binding.sessionInfo(session));
  },
};

/** Whether lp nodes run on the fused kernels here, and why not. */
export function nativeStatus(): { available: boolean; onnxruntime?: string; reason?: string } {
  const n = native();
  return n.binding ? { available: true, onnxruntime: n.ortVersion } : { available: false, reason: n.reason };
}

// onnxruntime-common keeps the first backend registered under a name (a higher priority does not
// replace it), so the native backend has its own name: first by priority when a session names no
// execution provider, and InferenceSession.create below maps 'cpu' to it.
export const BACKEND_NAME = 'lp-onnx';
const available = native().binding !== undefined;
if (available) ort.registerBackend(BACKEND_NAME, backend as unknown as Parameters<typeof ort.registerBackend>[1], 101);

type CreateArgs = Parameters<typeof ort.InferenceSession.create>;

function isOptions(v: unknown): v is ort.InferenceSession.SessionOptions {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer) && !(v instanceof SharedArrayBuffer);
}

/** onnxruntime-node's InferenceSession; CPU sessions get the lp-onnx kernels. */
export const InferenceSession: typeof ort.InferenceSession = Object.assign(Object.create(ort.InferenceSession), {
  create(...args: CreateArgs): Promise<ort.InferenceSession> {
    if (available) {
      const i = args.findIndex((a, k) => k > 0 && isOptions(a));
      const options = i > 0 ? (args[i] as ort.InferenceSession.SessionOptions) : undefined;
      const eps = options?.executionProviders;
      if (eps?.length) {
        // Every session goes to the native backend, which appends the providers itself.
        const names = eps.map((e) => (typeof e === 'string' ? e : e.name));
        args[i] = { ...options, executionProviders: [BACKEND_NAME], [REQUESTED]: names } as never;
      }
    }
    return (ort.InferenceSession.create as (...a: CreateArgs) => Promise<ort.InferenceSession>)(...args);
  },
});
