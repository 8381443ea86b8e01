import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('runs the example against the built package and prints what its comments say', () => {
    const [example] = readmeExamples(fileURLToPath(new URL('..', import.meta.url)));
    expect(example?.promised).toHaveLength(5);
    expect(example?.run()).toBe(`${example?.promised.join('\n')}\n`);
  });
});
