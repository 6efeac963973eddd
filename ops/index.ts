// The lp-onnx operators of domain com.lponnx, version 1 (see ../shared/spec/ops.md).
import type { AttrSchema } from './attributes';
import { l1Conv } from './l1-conv';
import { lpNorm } from './lp-norm';
import { lpPool } from './lp-pool';
import type { OpDefinition } from './types';

export { LpOpError } from './attributes';
export type { NdArray, NodeContext, OpDefinition, ValueType } from './types';
export { LP_DOMAIN, LP_OPSET_VERSION } from './types';
export { l1Conv, lpNorm, lpPool };

export const LP_OPS: Record<string, OpDefinition<AttrSchema>> = {
  LpNorm: lpNorm as unknown as OpDefinition<AttrSchema>,
  LpPool: lpPool as unknown as OpDefinition<AttrSchema>,
  L1Conv: l1Conv as unknown as OpDefinition<AttrSchema>,
};

export function lpOp(opType: string): OpDefinition<AttrSchema> | undefined {
  return Object.hasOwn(LP_OPS, opType) ? LP_OPS[opType] : undefined;
}
