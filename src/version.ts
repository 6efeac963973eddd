// The product's name, version and root folder (found from package.json, from src/ or dist/src/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder holding lp-onnx's package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lp-onnx') return dir;
      } catch {
        // not ours; keep going up
      }
    }
    dir = dirname(dir);
  }
  return join(__dirname, '..', '..');
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const PRODUCER_NAME = 'lp-onnx';
export const PRODUCER_VERSION = packageVersion();
