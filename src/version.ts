// The product's name and version as written into models (read from package.json once).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function packageVersion(): string {
  for (const up of ['..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lp-onnx' && pkg.version) return pkg.version;
    } catch {
      // try the next level
    }
  }
  return '0.0.0';
}

export const PRODUCER_NAME = 'lp-onnx';
export const PRODUCER_VERSION = packageVersion();
