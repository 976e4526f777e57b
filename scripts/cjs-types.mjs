// Copies the declarations tsc wrote (ESM, dist/*.d.ts) to dist/cjs/*.d.cts with './x.js' imports rewritten
// to './x.cjs', so TypeScript users who require() the CommonJS build get types of the right module kind.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function copy(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name !== 'cjs') copy(join(from, entry.name), join(to, entry.name));
    } else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(join(from, entry.name), 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.js(['"])/g, '$1.cjs$2');
      writeFileSync(join(to, entry.name.replace(/\.d\.ts$/, '.d.cts')), text);
    }
  }
}

copy('dist', 'dist/cjs');
