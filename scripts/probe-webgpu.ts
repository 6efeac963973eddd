// Exits 0 when onnxruntime-node's WebGPU execution provider runs a model here; otherwise prints
// why and exits 1. (On a machine without a GPU it needs Mesa's Vulkan driver, lavapipe, from
// Debian bookworm-backports.)
import { GraphBuilder } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';
import { makeTensor } from '../src/onnx/tensor';
import { runOrt } from '../src/runtime/ort';

export async function probeWebGpu(): Promise<string | undefined> {
  const b = new GraphBuilder({ name: 'probe' });
  b.output(b.input('x', 'float32', [2]).relu(), 'y');
  try {
    const out = await runOrt('ort', encodeModel(b.build()), { x: makeTensor('float32', [2], [-1, 2]) }, { executionProviders: ['webgpu'], logSeverityLevel: 4 });
    const y = out.y.data as Float32Array;
    return y[0] === 0 && y[1] === 2 ? undefined : `onnxruntime-node WebGPU returned [${Array.from(y)}] for Relu([-1, 2])`;
  } catch (e) {
    return `onnxruntime-node's WebGPU provider is not usable here: ${(e as Error).message.split('\n')[0]}`;
  }
}

if (require.main === module) {
  probeWebGpu().then((why) => {
    process.stdout.write(`${why ?? 'onnxruntime-node WebGPU: ok'}\n`);
    process.exit(why ? 1 : 0);
  });
}
