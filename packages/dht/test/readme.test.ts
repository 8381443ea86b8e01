import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('runs the example against the built package with the output its comments claim', () => {
    const [example] = readmeExamples(fileURLToPath(new URL('..', import.meta.url)));
    expect(example?.run()).toBe('sip:alice@example.org true\n0\nBAD_SIGNATURE 403\n');
  });
});
