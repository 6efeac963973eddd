// A safe unpickler for PyTorch state_dicts: it interprets the pickle opcodes a state_dict uses and
// builds plain values; the only globals it accepts are the few a state_dict names (OrderedDict,
// tensor rebuilds, typed storages). It never imports or runs anything from the file.

export class PickleError extends Error {}

/** A global the file names, resolved by `resolveGlobal`. */
export interface PickleGlobal {
  kind: 'global';
  module: string;
  name: string;
}

/** A call of an allowed global: REDUCE (callable, args) or BUILD. */
export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | PickleTuple | PickleDict | PickleGlobal | object;

export class PickleTuple {
  constructor(readonly items: PickleValue[]) {}
}

export class PickleDict {
  readonly map = new Map<PickleValue, PickleValue>();
}

export interface UnpickleHooks {
  /** what a GLOBAL stands for; throw to refuse it */
  resolveGlobal(module: string, name: string): PickleGlobal;
  /** REDUCE: apply an allowed global to its arguments */
  reduce(callable: PickleValue, args: PickleValue[]): PickleValue;
  /** BINPERSID: the object for a persistent id (torch storages) */
  persistentLoad(pid: PickleValue): PickleValue;
}

const MARK = Symbol('mark');

export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks, what: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: (PickleValue | typeof MARK)[] = [];
  const memo = new Map<number, PickleValue>();
  let p = 0;
  const need = (n: number) => {
    if (p + n > bytes.length) throw new PickleError(`${what}: the pickle is truncated`);
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleError(`${what}: corrupt pickle (stack underflow at byte ${p})`);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleError(`${what}: corrupt pickle (no mark at byte ${p})`);
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError(`${what}: corrupt pickle (empty stack at byte ${p})`);
    return v;
  };
  const str = (n: number) => {
    need(n);
    const s = Buffer.from(bytes.subarray(p, p + n)).toString('utf8');
    p += n;
    return s;
  };
  const line = () => {
    const e = bytes.indexOf(0x0a, p);
    if (e < 0) throw new PickleError(`${what}: the pickle is truncated`);
    const s = Buffer.from(bytes.subarray(p, e)).toString('latin1');
    p = e + 1;
    return s;
  };
  const setItems = (d: PickleValue, items: PickleValue[]) => {
    if (!(d instanceof PickleDict)) throw new PickleError(`${what}: SETITEMS on a non-dict`);
    for (let i = 0; i + 1 < items.length; i += 2) d.map.set(items[i], items[i + 1]);
  };
  while (true) {
    need(1);
    const op = bytes[p++];
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (bytes[p] > 5) throw new PickleError(`${what}: pickle protocol ${bytes[p]} is not supported`);
        p += 1;
        break;
      case 0x95: // FRAME
        need(8);
        p += 8;
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PickleTuple([]));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(bytes[p++]);
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(view.getUint16(p, true));
        p += 2;
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(p, true));
        p += 4;
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement
        need(1);
        const n = bytes[p++];
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[p + i]);
        if (n > 0 && bytes[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        const num = Number(v);
        stack.push(Number.isSafeInteger(num) ? num : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(p, false));
        p += 8;
        break;
      case 0x58: // BINUNICODE
        need(4);
        p += 4;
        stack.push(str(view.getUint32(p - 4, true)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        need(1);
        p += 1;
        stack.push(str(bytes[p - 1]));
        break;
      case 0x55: // SHORT_BINSTRING
        need(1);
        p += 1;
        stack.push(str(bytes[p - 1]));
        break;
      case 0x54: // BINSTRING
        need(4);
        p += 4;
        stack.push(str(view.getInt32(p - 4, true)));
        break;
      case 0x43: {
        // SHORT_BINBYTES
        need(1);
        const n = bytes[p++];
        need(n);
        stack.push(bytes.slice(p, p + n));
        p += n;
        break;
      }
      case 0x42: {
        // BINBYTES
        need(4);
        const n = view.getUint32(p, true);
        p += 4;
        need(n);
        stack.push(bytes.slice(p, p + n));
        p += n;
        break;
      }
      case 0x71: // BINPUT
        need(1);
        memo.set(bytes[p++], top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(view.getUint32(p, true), top());
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const long = op === 0x6a;
        need(long ? 4 : 1);
        const k = long ? view.getUint32(p, true) : bytes[p];
        p += long ? 4 : 1;
        if (!memo.has(k)) throw new PickleError(`${what}: corrupt pickle (memo ${k} is unset)`);
        stack.push(memo.get(k) as PickleValue);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(hooks.resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError(`${what}: corrupt pickle (STACK_GLOBAL)`);
        stack.push(hooks.resolveGlobal(module, name));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PickleTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PickleTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PickleTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PickleTuple([pop(), b, c]));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PickleDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw new PickleError(`${what}: APPEND on a non-list`);
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw new PickleError(`${what}: APPENDS on a non-list`);
        l.push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!(args instanceof PickleTuple)) throw new PickleError(`${what}: corrupt pickle (REDUCE arguments are not a tuple)`);
        stack.push(hooks.reduce(callable, args.items));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(hooks.reduce(cls, args instanceof PickleTuple ? args.items : []));
        break;
      }
      case 0x62: // BUILD: object state (an OrderedDict's _metadata); kept out of the values
        pop();
        break;
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      default:
        throw new PickleError(
          `${what}: pickle opcode 0x${op.toString(16)} at byte ${p - 1} is not allowed (a state_dict holds only dicts, tensors and numbers)`,
        );
    }
  }
}
