import { packageConfig } from '@xpp/vitest-config';

// `slow`: files that run for ~10 s or more on the 2-core machines; `pnpm test:fast` leaves them out.
export default packageConfig(
  {},
  {
    slow: [
      'test/sim.test.ts', // simulated overlays of up to 10,000 peers
      'test/cli.test.ts', // runs the simulator CLI
    ],
  },
);
