export { readmeExamples, type ReadmeExample } from './readme-examples.js';
export { runSipp, sippVersion, freeUdpPort, type SippRun, type SippResult } from './sipp.js';
