import { fileURLToPath } from 'node:url';
import { readmeExamples } from '@xpp/test-kit';
import { describe, expect, it } from 'vitest';

describe('README: membership', () => {
  it('runs the authenticator example against the built package with the output its comments claim', () => {
    const example = readmeExamples(fileURLToPath(new URL('../..', import.meta.url))).find((e) =>
      e.code.includes('createPeerAuthenticator'),
    );
    expect(example?.promised).toEqual(['true', 'CERTIFICATE_REFUSED bad-signature']);
    expect(example?.run()).toBe(`${example?.promised.join('\n')}\n`);
  });
});
