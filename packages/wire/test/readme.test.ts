import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('runs the example against the built package and prints what its comments say', () => {
    const [example] = readmeExamples(fileURLToPath(new URL('..', import.meta.url)));
    expect(example?.promised).toEqual(['7 hi', 'BAD_VERSION']);
    expect(example?.run()).toBe('7 hi\nBAD_VERSION\n');
  });
});
