import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { describe, expect, it } from 'vitest';

const examples = readmeExamples(fileURLToPath(new URL('..', import.meta.url)));

describe('README', () => {
  it('has the three examples', () => {
    expect(examples).toHaveLength(3);
  });

  examples.forEach((example, i) => {
    it(`runs example ${i + 1} over loopback UDP and prints what its comments say`, () => {
      expect(example.promised.length).toBeGreaterThanOrEqual(2);
      expect(example.run()).toBe(`${example.promised.join('\n')}\n`);
    });
  });
});
