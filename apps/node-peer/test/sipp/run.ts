import { fileURLToPath } from 'node:url';
import { runSipp as runSippFile, type SippResult, type SippRun } from '@xpp/test-kit';

export { freeUdpPort, sippVersion, type SippResult, type SippRun } from '@xpp/test-kit';

/** Runs one of this directory's scenarios with an unmodified sipp (see `@xpp/test-kit`'s `runSipp`). */
export function runSipp(scenario: string, run: SippRun): Promise<SippResult> {
  return runSippFile(fileURLToPath(new URL(scenario, import.meta.url)), run);
}
