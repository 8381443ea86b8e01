import { packageConfig } from '@xpp/vitest-config';

// `slow`: files that run for ~10 s or more on the 2-core machines; `pnpm test:fast` leaves them out.
export default packageConfig(
  {},
  {
    slow: [
      'test/cli.test.ts', // starts and stops daemons
      'test/shutdown.test.ts', // daemons handing over on SIGTERM
      'test/restart-sigkill.test.ts', // three xpp-node processes killed -9 and restarted
      'test/demo.test.ts', // the demo: a 5-peer overlay
      'test/sipp-interop.test.ts', // interop with sipp
      'test/interop-defaults.test.ts', // xpp-node processes on defaults, with sipp
      'test/overload.test.ts', // floods of thousands of requests
      'test/sip-streams.test.ts', // an xpp-node process over TCP and TLS, with sipp and stunnel4
      'test/sqlite-store.test.ts', // the disk store: kill -9 of a writer child, 100s of reopens
      'test/kill-under-load.test.ts', // four xpp-node processes killed -9 under REGISTER load (~40 s)
      'test/restart-takeover.test.ts', // three xpp-node processes, a takeover by real failure detection (~1 min)
      'test/restart-evicted.test.ts', // three xpp-node processes: a restarted peer loses its zone, exits 75, rejoins
      'test/store-damage.test.ts', // xpp-node processes on damaged copies of a data directory
      'test/browser-call.test.ts', // two xpp-node processes and headless Chromium (JsSIP over WSS, WebRTC)
      'test/nat-call.test.ts', // five peers in network namespaces, two behind NATs, with sipp clients
    ],
  },
);
