export { readmeExamples, type ReadmeExample } from './readme-examples.js';
export { runSipp, sippVersion, freeUdpPort, type SippRun, type SippResult } from './sipp.js';
export { udpEchoClient, udpEchoServer } from './udp-echo.js';
export type { UdxConstructor, UdxInstance, UdxSocket, UdxStream } from './udx.js';
