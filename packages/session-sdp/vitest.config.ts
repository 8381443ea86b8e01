import { packageConfig } from '@xpp/vitest-config';

// `slow`: files that run for ~10 s or more on the 2-core machines; `pnpm test:fast` leaves them out.
export default packageConfig(
  {},
  {
    slow: [
      'test/endpoint.test.ts', // real UDP: a lossy relay, keepalive timeouts
      'test/nat-traversal.test.ts', // network namespaces and nftables, as root
      'test/sipp-interop.test.ts', // interop with sipp
    ],
  },
);
