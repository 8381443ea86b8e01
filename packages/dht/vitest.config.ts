import { packageConfig } from '@xpp/vitest-config';

// `slow`: files that run for ~10 s or more on the 2-core machines; `pnpm test:fast` leaves them out.
export default packageConfig(
  {},
  {
    slow: [
      'test/simulation.test.ts', // the 1,000-peer simulation: minutes
      'test/churn.test.ts', // churn over real UDP
      'test/lossy.test.ts', // a lossy relay over real UDP
      'test/testnet.test.ts', // testnets over real UDP
      'test/overlay-node.test.ts', // a 40-peer overlay over real UDP
      'test/node-security.test.ts', // overlays over real UDP
      'test/membership-admission.test.ts', // outsiders against overlays over real UDP
      'test/origin-revocation.test.ts', // a testnet over real UDP
      'test/credential-export.test.ts', // a testnet over real UDP
      'test/nat-overlay.test.ts', // five peers in network namespaces behind NATs
      'test/relay-attack.test.ts', // four peers and rogues over real UDP
    ],
  },
);
