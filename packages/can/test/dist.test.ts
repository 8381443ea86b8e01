import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These run the built dist/ through the package's `exports` map, the way users load it.
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('the built package', () => {
  for (const [format, file] of [
    ['esm', 'consumer.mjs'],
    ['cjs', 'consumer.cjs'],
  ] as const) {
    it(`loads from ${format.toUpperCase()} and works`, () => {
      const out = execFileSync(process.execPath, [fixture(file)], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({
        format,
        point: [3820012610],
        next: 'b',
        zone: '0180',
        code: 'INVALID_DIMENSIONS',
      });
    });
  }
});
