// PyTorch .pt / .pth files written by torch.save(model.state_dict()): a zip holding data.pkl
// (read by the safe unpickler) and one file per storage.
import type { DType, Tensor, TypedArray } from '../../onnx/tensor';
import { makeTensor } from '../../onnx/tensor';
import { PickleDict, PickleError, type PickleGlobal, PickleTuple, type PickleValue, unpickle } from './pickle';
import { isZip, listZip, readZipEntry } from './zip';

const STORAGES: Record<string, Exclude<DType, 'string'>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** The globals a state_dict may name; anything else is refused. */
const ALLOWED = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGES).map((s) => `torch.${s}`),
]);

class Storage {
  constructor(
    readonly dtype: Exclude<DType, 'string'>,
    readonly data: TypedArray,
  ) {}
}

const isGlobal = (v: PickleValue, full: string): boolean => {
  const g = v as PickleGlobal;
  return typeof v === 'object' && v !== null && g.kind === 'global' && `${g.module}.${g.name}` === full;
};

function ints(v: PickleValue, what: string): number[] {
  if (!(v instanceof PickleTuple)) throw new PickleError(`${what}: expected a tuple of ints`);
  return v.items.map((x) => {
    if (typeof x !== 'number') throw new PickleError(`${what}: expected a tuple of ints`);
    return x;
  });
}

/** A tensor from a storage view: offset, sizes and strides (any layout). */
function rebuild(storage: Storage, offset: number, sizes: number[], strides: number[], what: string): Tensor {
  const out = makeTensor(storage.dtype, sizes);
  const dst = out.data as TypedArray;
  const n = dst.length;
  const idx = new Array<number>(sizes.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = offset;
    for (let d = 0; d < sizes.length; d++) src += idx[d] * strides[d];
    if (src >= storage.data.length) throw new PickleError(`${what}: a tensor reaches past its storage`);
    (dst as Float32Array)[k] = (storage.data as Float32Array)[src];
    for (let d = sizes.length - 1; d >= 0; d--) {
      if (++idx[d] < sizes[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export function readTorchStateDict(bytes: Uint8Array, what: string): Map<string, Tensor> {
  if (!isZip(bytes)) {
    if (bytes.length > 2 && bytes[0] === 0x80) {
      throw new PickleError(`${what}: a legacy (pre-1.6, non-zip) torch.save file; re-save it with torch.save(state_dict, path) from torch >= 1.6`);
    }
    throw new PickleError(`${what}: not a PyTorch .pt file (expected the zip archive torch.save writes)`);
  }
  const entries = listZip(bytes, what);
  const pkl = [...entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pkl) throw new PickleError(`${what}: the archive has no data.pkl`);
  const root = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = entries.get(`${root}byteorder`);
  if (order && Buffer.from(readZipEntry(bytes, order, what)).toString().trim() !== 'little') {
    throw new PickleError(`${what}: big-endian tensors are not supported`);
  }
  const storages = new Map<string, Storage>();
  const value = unpickle(
    readZipEntry(bytes, entries.get(pkl) as NonNullable<ReturnType<typeof entries.get>>, what),
    {
      resolveGlobal(module, name) {
        const full = `${module}.${name}`;
        if (!ALLOWED.has(full)) {
          const hint = module.startsWith('torch.nn.') ? '; save model.state_dict(), not the model' : '';
          throw new PickleError(`${what}: refuses the global '${full}' (nothing from the file is run): a state_dict file may name only ${[...ALLOWED].join(', ')}${hint}`);
        }
        return { kind: 'global', module, name };
      },
      persistentLoad(pid) {
        if (!(pid instanceof PickleTuple) || pid.items[0] !== 'storage') throw new PickleError(`${what}: unexpected persistent id`);
        const [, type, key, , numel] = pid.items;
        const g = type as PickleGlobal;
        const dtype = STORAGES[g?.name ?? ''];
        if (!dtype || typeof key !== 'string') throw new PickleError(`${what}: unexpected storage type in a persistent id`);
        const cached = storages.get(key);
        if (cached) return cached;
        const entry = entries.get(`${root}data/${key}`);
        if (!entry) throw new PickleError(`${what}: storage '${key}' is missing from the archive`);
        const raw = readZipEntry(bytes, entry, what);
        const t = makeTensor(dtype, [typeof numel === 'number' ? numel : 0]);
        const dst = new Uint8Array((t.data as TypedArray).buffer);
        if (raw.length < dst.length) throw new PickleError(`${what}: storage '${key}' has ${raw.length} bytes, expected ${dst.length}`);
        dst.set(raw.subarray(0, dst.length));
        const s = new Storage(dtype, t.data as TypedArray);
        storages.set(key, s);
        return s;
      },
      reduce(callable, args) {
        if (isGlobal(callable, 'collections.OrderedDict')) return new PickleDict();
        if (isGlobal(callable, 'torch._utils._rebuild_tensor_v2')) {
          const [storage, offset, sizes, strides] = args;
          if (!(storage instanceof Storage) || typeof offset !== 'number') throw new PickleError(`${what}: corrupt tensor record`);
          return rebuild(storage, offset, ints(sizes, what), ints(strides, what), what);
        }
        if (isGlobal(callable, 'torch._utils._rebuild_parameter')) return args[0];
        throw new PickleError(`${what}: cannot call ${JSON.stringify(callable)}`);
      },
    },
    what,
  );
  if (!(value instanceof PickleDict)) throw new PickleError(`${what}: the file does not hold a state_dict (a dict of tensors)`);
  const out = new Map<string, Tensor>();
  for (const [k, v] of value.map) {
    if (typeof k !== 'string') throw new PickleError(`${what}: a state_dict key is not a string`);
    if (!(typeof v === 'object' && v !== null && 'dtype' in v && 'dims' in v)) {
      throw new PickleError(`${what}: entry '${k}' is not a tensor (save model.state_dict(), not the model)`);
    }
    out.set(k, v as Tensor);
  }
  return out;
}
