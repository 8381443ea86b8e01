import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  const examples = readmeExamples(fileURLToPath(new URL('..', import.meta.url)));

  it('starts a node as a library, gets /healthz 200, and leaves', () => {
    const [library] = examples;
    expect(library?.promised).toEqual(['peer 200', 'closed']);
    expect(library?.run({ timeoutMs: 30_000 })).toBe('peer 200\nclosed\n');
  });

  it('resolves layered configuration', () => {
    const config = examples[1];
    expect(config?.promised).toEqual(['localhost 5080']);
    expect(config?.run()).toBe('localhost 5080\n');
  });
});
