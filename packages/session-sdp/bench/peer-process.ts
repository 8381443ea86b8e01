// The far end of a bench run in its own process (sender and receiver each get a core, as two hosts would),
// spoken to by lines: the parent writes lines to its stdin and reads the lines it prints.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface PeerProcess {
  /** The next line the peer prints. */
  line(): Promise<string>;
  write(line: string): void;
  /** Tells the peer `quit` and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `script` (a file beside this one) under tsx with `args`. */
export function peerProcess(script: string, args: readonly string[]): PeerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  // one iterator for the child's whole life: lines printed before anyone awaits them are kept, not lost
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = once(child, 'exit');
  return {
    line: async () => {
      const next = await lines.next();
      if (next.done === true) throw new Error(`bench peer ${script} ended before printing a line`);
      return next.value;
    },
    write: (line) => child.stdin.write(`${line}\n`),
    stop: async () => {
      child.stdin.write('quit\n');
      await exited;
    },
  };
}

/** The peer's side of the protocol: each line the parent writes, until `quit`. */
export async function* parentLines(): AsyncGenerator<string> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'quit') return;
    yield line;
  }
}
