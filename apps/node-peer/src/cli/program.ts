import { Command, CommanderError } from 'commander';
import { NodeError } from '../errors.js';
import { keygen } from '../data-dir.js';
import { commandConfig, withConfigFlags } from './config-flags.js';
import { runDemo } from './demo/demo-overlay.js';
import { runNode } from './node-command.js';
import { addPeerCommands } from './peer-commands.js';
import { fetchStatus, formatStatus } from './status-command.js';
import { addUser, nodeUrl } from './user-add.js';
import { removeUser } from './user-remove.js';
import { changePassword } from './user-passwd.js';
import { backupUsers, exportUsers, formatUsers, incompleteness, restoreUsers } from './user-directory.js';
import { BACKUP_PASSPHRASE_ENV, checkPassphrase } from '../users/backup-file.js';

/** Where a CLI run writes and how it ends; the real process in `bin.ts`, a recorder in tests. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly process: Pick<NodeJS.Process, 'on' | 'exit'>;
}

const MEMORY_FLAG = 'keep records in memory only, lost at exit (default: <data-dir>/records.db on disk)';

/** The `--via` option, when given. */
function via(options: Record<string, unknown>): string | undefined {
  return typeof options['via'] === 'string' ? options['via'] : undefined;
}

/** Exit code of a command-line or configuration mistake (as opposed to 1, a failure while running). */
export const USAGE_EXIT = 2;

function buildProgram(io: CliIo): Command {
  const program = new Command('xpp-node')
    .description('An XPP-PCAN peer: a SIP registrar and proxy whose location service is the overlay')
    .version('0.0.0')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  withConfigFlags(
    program
      .command('start')
      .description('run a node: resume its overlay, or (a fresh data directory) found a new one')
      .option('--memory', MEMORY_FLAG)
      .option(
        '--new-overlay',
        'found a new overlay although this data directory has been in one (a deliberate fork)',
      ),
  ).action(async (options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    if (config.joinVia !== undefined) {
      throw new NodeError(
        'INVALID_CONFIG',
        'joinVia is set: use `xpp-node join --via` to start as a candidate',
      );
    }
    await runNode(config, io);
  });

  withConfigFlags(
    program
      .command('join')
      .description('start as a candidate: register with a peer (+sip.xpp-peer) and wait to be invited')
      .requiredOption('--via <host:port>', "an overlay peer's SIP address")
      .option('--aor <aor>', 'the AOR to register as (default sip:peer-<id>@<domain>)')
      .option('--password <password>', "the AOR's digest password")
      .option('--memory', MEMORY_FLAG)
      .option(
        '--token <token>',
        'an enrollment token (xpp-node peer invite): gets this host its certificate',
      ),
  ).action(async (options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env, {
      enrollToken: options['token'],
      joinVia: options['via'],
      joinAor: options['aor'],
      joinPassword: options['password'],
    });
    await runNode(config, io);
  });

  withConfigFlags(
    program
      .command('keygen')
      .description("create the administrator key pair (and this peer's identity key) in the data directory")
      .option('--force', 'replace existing keys (users signed with the old key must be added again)'),
  ).action((options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const result = keygen(config.dataDir, { force: options['force'] === true });
    io.stdout(
      `administrator public key ${result.adminPublicKeyHex}\npeer id ${result.peerIdHex}\n` +
        `wrote ${result.files.join(', ')}\n`,
    );
  });

  addPeerCommands(program, io);

  const user = program.command('user').description('overlay users (signed CREDENTIAL records)');
  withConfigFlags(
    user
      .command('add <aor>')
      .description('sign a credential with the administrator key and store it through a running node')
      .requiredOption('--password <password>', 'the digest password')
      .option('--username <name>', 'digest username (default the AOR user part)')
      .option('--no-md5', 'keep only the SHA-256 secret (no MD5 for old clients)')
      .option('--via <url>', "a node's HTTP address (default the local node, http://127.0.0.1:<http-port>)"),
  ).action(async (aor: string, options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const added = await addUser(config, {
      aor,
      password: String(options['password']),
      md5: options['md5'] !== false,
      ...(typeof options['username'] === 'string' ? { username: options['username'] } : {}),
      ...(typeof options['via'] === 'string' ? { via: options['via'] } : {}),
    });
    io.stdout(
      `added ${added.aor} (username ${added.username}, realm ${added.realm}, serial ${added.serial})\n`,
    );
  });

  withConfigFlags(
    user
      .command('remove <aor>')
      .description('store an administrator-signed removal (tombstone) of a user through a running node')
      .option('--via <url>', "a node's HTTP address (default the local node, http://127.0.0.1:<http-port>)"),
  ).action(async (aor: string, options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const removed = await removeUser(config, {
      aor,
      ...(typeof options['via'] === 'string' ? { via: options['via'] } : {}),
    });
    io.stdout(`removed ${removed.aor} (tombstone serial ${removed.serial})\n`);
  });

  withConfigFlags(
    user
      .command('passwd <aor>')
      .description(
        'store a new credential for an existing user, with a higher serial (the old one is refused)',
      )
      .requiredOption('--password <password>', 'the new digest password')
      .option('--no-md5', 'keep only the SHA-256 secret (no MD5 for old clients)')
      .option('--via <url>', "a node's HTTP address (default the local node, http://127.0.0.1:<http-port>)"),
  ).action(async (aor: string, options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const changed = await changePassword(config, {
      aor,
      password: String(options['password']),
      ...(options['md5'] === false ? { md5: false } : {}),
      ...(typeof options['via'] === 'string' ? { via: options['via'] } : {}),
    });
    io.stdout(`changed ${changed.aor} (serial ${changed.previous} → ${changed.serial})\n`);
  });

  withConfigFlags(
    user
      .command('list')
      .description("the overlay's users (AOR, serial, username; never a secret), from a walk of the overlay")
      .option('--removed', 'list removed users (tombstones) too')
      .option('--via <url>', "a node's HTTP address (default the local node, http://127.0.0.1:<http-port>)"),
  ).action(async (options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const found = await exportUsers(config, via(options));
    io.stdout(formatUsers(found, { removed: options['removed'] === true }));
    const incomplete = incompleteness(found);
    if (incomplete !== undefined) throw new NodeError('INCOMPLETE', `incomplete: ${incomplete}`);
  });

  withConfigFlags(
    program
      .command('backup <file>')
      .description(
        `the overlay's users, as their signed records, encrypted with $${BACKUP_PASSPHRASE_ENV} (file mode 0600)`,
      )
      .option('--via <url>', "a node's HTTP address (default the local node, http://127.0.0.1:<http-port>)"),
  ).action(async (file: string, options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const passphrase = checkPassphrase(io.env[BACKUP_PASSPHRASE_ENV]);
    const saved = await backupUsers(config, file, passphrase, via(options));
    io.stdout(`wrote ${file}: ${saved.users} users, ${saved.removed} removed (mode 0600)\n`);
  });

  withConfigFlags(
    program
      .command('restore <file>')
      .description(
        `store the users of a backup again (checked like any PUT); passphrase in $${BACKUP_PASSPHRASE_ENV}`,
      )
      .option('--via <url>', "a node's HTTP address (default the local node, http://127.0.0.1:<http-port>)"),
  ).action(async (file: string, options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const passphrase = checkPassphrase(io.env[BACKUP_PASSPHRASE_ENV]);
    const report = await restoreUsers(config, file, passphrase, via(options));
    io.stdout(
      `restored ${report.stored}, newer in the overlay ${report.newer}, refused ${report.refused.length}\n`,
    );
    for (const r of report.refused) io.stderr(`refused ${r.aor} (${r.status}): ${r.error}\n`);
    if (report.refused.length > 0)
      throw new NodeError('REFUSED', `${report.refused.length} record(s) of ${file} were refused`);
  });

  withConfigFlags(
    program
      .command('status')
      .description("a running node's zone, neighbours, records and clients")
      .option('--via <url>', "a node's HTTP address (default the local node)")
      .option('--json', 'print /status as JSON'),
  ).action(async (options: Record<string, unknown>) => {
    const config = commandConfig(options, io.env);
    const status = await fetchStatus(nodeUrl(config, options['via'] as string | undefined));
    io.stdout(
      options['json'] === true ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`,
    );
  });

  program
    .command('demo')
    .description('a local overlay of 5 daemons, two users, a call between them, and a report')
    .option('--ci', 'exit after the report (status 0 when every check passed)')
    .option('--peers <n>', 'peers in the overlay', '5')
    .action(async (options: { ci?: boolean; peers: string }) => {
      const peers = Number(options.peers);
      if (!Number.isInteger(peers) || peers < 2 || peers > 32) {
        throw new NodeError(
          'INVALID_CONFIG',
          `--peers must be a whole number from 2 to 32, got ${options.peers}`,
        );
      }
      const demo = await runDemo({ peers, out: (line) => io.stdout(`${line}\n`) });
      if (options.ci === true || !demo.ok) {
        await demo.stop(false);
        io.process.exit(demo.ok ? 0 : 1);
        return;
      }
      const first = demo.peers[0];
      io.stdout(
        `\nThe overlay keeps running. Try: pnpm exec xpp-node status --via http://127.0.0.1:${first?.ports.http ?? 0}` +
          `\nCtrl-C leaves it (each peer hands its zone over).\n`,
      );
      let stopping = false;
      const onSignal = (): void => {
        if (stopping) return io.process.exit(1);
        stopping = true;
        void demo.stop(true).then(() => io.process.exit(0));
      };
      io.process.on('SIGINT', onSignal);
      io.process.on('SIGTERM', onSignal);
    });

  return program;
}

/**
 * Runs `xpp-node` with `argv` (without node and script). Resolves with the exit code for commands that end
 * (`keygen`, `user add`, `status`, usage errors); `start` and `join` resolve with undefined and keep running until
 * a signal (they exit through `io.process.exit`).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const program = buildProgram(io);
  let long = false;
  program.hook('preAction', (_, command) => {
    long = ['start', 'join', 'demo'].includes(command.name());
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return long ? undefined : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
    if (NodeError.is(error)) {
      io.stderr(`xpp-node: ${error.message}\n`);
      return error.code === 'INVALID_CONFIG' || error.code === 'CONFIG_FILE' ? USAGE_EXIT : 1;
    }
    // Coded errors (ours, the packages', the system's: EADDRINUSE…) say what happened; a stack is for bugs.
    const coded = error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
    const cause = coded && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    io.stderr(
      `xpp-node: ${coded ? `${error.message}${cause}` : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}
