import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { describe, expect, it } from 'vitest';

describe('README: the overlay node', () => {
  it('runs the two-peer example (join, put, leave, get) over UDP with the output its comments claim', () => {
    const example = readmeExamples(fileURLToPath(new URL('..', import.meta.url))).find((e) =>
      e.code.includes('second.leave()'),
    );
    expect(example?.run({ timeoutMs: 30_000 })).toBe(`${example?.promised.join('\n')}\n`);
    expect(example?.promised).toEqual(['second join 1', '600', 'sip:bob@192.0.2.7 1']);
  }, 40_000);
});
