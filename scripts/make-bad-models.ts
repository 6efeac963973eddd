// Writes fixtures/models/: small invalid models for the CLI error tests.
import { join } from 'node:path';
import { valueInfo } from '../src/graph/model';
import { writeModelFile } from '../src/onnx/model-file';
import { makeTensor, tensorToProto } from '../src/onnx/tensor';

if (require.main === module) {
  const dir = process.argv[2] ?? 'fixtures/models';
  const w = makeTensor('float32', [2, 3], [1, 1, 1, 1, 1, -0.25]);
  writeModelFile(join(dir, 'bad-negative-weight.onnx'), {
    ir_version: 10,
    opset_import: [
      { domain: '', version: 18 },
      { domain: 'com.lponnx', version: 1 },
    ],
    graph: {
      name: 'bad',
      node: [{ name: 'lp', op_type: 'LpNorm', domain: 'com.lponnx', input: ['x', 'w'], output: ['y'] }],
      input: [valueInfo('x', { elemType: 1, shape: ['N', 3] })],
      initializer: [tensorToProto(w, 'w')],
      output: [valueInfo('y', { elemType: 1 })],
    },
  });
  process.stdout.write(`wrote ${join(dir, 'bad-negative-weight.onnx')}\n`);
}
