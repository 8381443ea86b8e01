import type { Command } from 'commander';
import {
  envLayer,
  fileLayer,
  flagLayer,
  resolveConfig,
  type ConfigLayer,
  type NodeConfig,
} from '../config.js';

/** The flags every command that reads the configuration takes (README: the options table). */
export function withConfigFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'JSON config file (defaults < file < XPP_NODE_* environment < flags)')
    .option('--domain <name>', 'SIP domain served by the overlay (default localhost)')
    .option('--host <address>', 'address the SIP and XPP sockets bind and advertise (default 127.0.0.1)')
    .option('--advertise <addresses>', 'with --host ::, the addresses to name, one per family: 127.0.0.1,::1')
    .option('--http-host <address>', 'address the HTTP side binds (default 127.0.0.1: this machine only)')
    .option('--sip-port <port>', 'SIP over UDP and TCP (default 5060)')
    .option('--tls-port <port>', 'SIP over TLS, with --tls-cert and --tls-key (default 5061)')
    .option('--tls-cert <file>', 'PEM certificate (chain) of SIP over TLS; with --tls-key turns TLS on')
    .option('--tls-key <file>', 'PEM private key of SIP over TLS')
    .option('--wss-port <port>', 'SIP over secure WebSocket, with --tls-cert and --tls-key (default 8443)')
    .option('--ws-port <port>', 'SIP over plain WebSocket (off unless given)')
    .option('--xpp-port <port>', 'XPP over UDP (default 5070)')
    .option('--http-port <port>', '/healthz, /metrics, /status and admin (default 9464)')
    .option('--data-dir <dir>', 'identity, certificate, keys and kept credentials (default ./.xpp-node)')
    .option('--dimensions <d>', 'CAN dimensions, the same on every peer (default 4)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option(
      '--admin-public-key <hex>',
      "the overlay administrator's Ed25519 public key (default <data-dir>/admin.pub)",
    )
    .option('--certificate <file>', "this peer's certificate (default <data-dir>/peer.cert)")
    .option('--membership <mode>', 'required (default): certified peers only; off: only while upgrading')
    .option('--digest <algorithms>', 'digest challenges in order, e.g. sha-256,md5 (default md5)')
    .option('--foreign-calls', "forward local users' calls to other domains (default off)");
}

/** Flags whose configuration key is not their camel-cased name. */
const FLAG_KEYS: Readonly<Record<string, string>> = { digest: 'digestAlgorithms' };

/** Options of a command that are not configuration keys. */
const NOT_CONFIG: ReadonlySet<string> = new Set([
  'config',
  'force',
  'password',
  'via',
  'json',
  'username',
  'md5',
  'aor',
  'memory',
  'days',
  'out',
  'token',
  'removed',
]);

/** The configuration a command runs with: embedded defaults, then `--config`, the environment and its flags. */
export function commandConfig(
  options: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  extra: Record<string, unknown> = {},
): NodeConfig {
  const layers: ConfigLayer[] = [];
  if (typeof options['config'] === 'string') layers.push(fileLayer(options['config']));
  layers.push(envLayer(env));
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options))
    if (!NOT_CONFIG.has(key)) flags[FLAG_KEYS[key] ?? key] = value;
  // `--memory` (start and join) is the `store: memory` setting.
  if (options['memory'] === true) flags['store'] = 'memory';
  layers.push(flagLayer({ ...flags, ...extra }));
  return resolveConfig(layers);
}
