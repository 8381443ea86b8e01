import { packageConfig } from '@xpp/vitest-config';

// `slow`: files that run for ~10 s or more on the 2-core machines; `pnpm test:fast` leaves them out.
export default packageConfig(
  {},
  {
    slow: [
      'test/udp-lossy.test.ts', // loss, duplication and reordering over real UDP
    ],
  },
);
