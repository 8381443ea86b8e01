import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandConfig } from '../src/cli/config-flags.js';
import { envLayer, fileLayer, flagLayer, resolveConfig } from '../src/config.js';
import { NodeError } from '../src/errors.js';

function problem(fn: () => unknown): NodeError {
  try {
    fn();
  } catch (error) {
    if (NodeError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a NodeError');
}

describe('configuration', () => {
  it('embeds defaults that start a one-peer overlay for localhost', () => {
    expect(resolveConfig([])).toEqual({
      domain: 'localhost',
      host: '127.0.0.1',
      httpHost: '127.0.0.1',
      sipPort: 5060,
      tlsPort: 5061,
      wssPort: 8443,
      xppPort: 5070,
      httpPort: 9464,
      dataDir: './.xpp-node',
      store: 'disk',
      dimensions: 4,
      logLevel: 'info',
      membership: 'required',
      newOverlay: false,
    });
  });

  it('keeps records on disk unless told memory (XPP_NODE_STORE, or `--memory` on start and join)', () => {
    expect(resolveConfig([envLayer({ XPP_NODE_STORE: 'memory' })]).store).toBe('memory');
    expect(() => resolveConfig([envLayer({ XPP_NODE_STORE: 'tape' })])).toThrow(/store/);
    expect(commandConfig({ memory: true }, {}).store).toBe('memory');
    expect(commandConfig({}, {}).store).toBe('disk');
  });

  it('TLS needs both a certificate and a key', () => {
    expect(() => resolveConfig([{ source: 'command line', values: { tlsCert: 'cert.pem' } }])).toThrow(
      /tlsKey: tlsCert and tlsKey go together/,
    );
    expect(
      resolveConfig([{ source: 'f', values: { tlsCert: 'c.pem', tlsKey: 'k.pem', tlsPort: 0 } }]),
    ).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem', tlsPort: 0 });
  });

  it('layers file < environment < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpp-config-'));
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ domain: 'example.org', sipPort: 5080, xppPort: 6000 }));
    const config = resolveConfig([
      fileLayer(file),
      envLayer({ XPP_NODE_SIP_PORT: '5090', XPP_NODE_LOG_LEVEL: 'debug' }),
      flagLayer({ sipPort: '5100', dataDir: undefined }),
    ]);
    expect(config).toMatchObject({ domain: 'example.org', sipPort: 5100, xppPort: 6000, logLevel: 'debug' });
  });

  it('reports every bad value at once, with where it came from', () => {
    const error = problem(() =>
      resolveConfig([
        envLayer({ XPP_NODE_SIP_PORT: 'eighty' }),
        flagLayer({ httpPort: '70000', dimensions: '9' }),
      ]),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/sipPort: .*\(from environment\)/);
    expect(error.message).toMatch(/httpPort: .*\(from command line\)/);
    expect(error.message).toMatch(/dimensions: .*\(from command line\)/);
  });

  it('refuses unknown keys in a config file and unreadable or non-object files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpp-config-'));
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ sip_port: 1 }));
    expect(problem(() => resolveConfig([fileLayer(file)])).message).toMatch(/sip_port/);
    writeFileSync(file, '[1]');
    expect(problem(() => fileLayer(file)).code).toBe('CONFIG_FILE');
    writeFileSync(file, '{');
    expect(problem(() => fileLayer(file)).code).toBe('CONFIG_FILE');
    expect(problem(() => fileLayer(join(dir, 'missing.json'))).code).toBe('CONFIG_FILE');
  });

  it('checks the administrator key and the invite policy thresholds', () => {
    const config = resolveConfig([
      envLayer({ XPP_NODE_ADMIN_PUBLIC_KEY: 'ab'.repeat(32), XPP_NODE_JOIN_VIA: '127.0.0.1:5060' }),
      { source: 'config file x.json', values: { invitePolicy: { maxClients: 0, minStableFlowMs: 100 } } },
    ]);
    expect(config).toMatchObject({
      adminPublicKey: 'ab'.repeat(32),
      joinVia: '127.0.0.1:5060',
      invitePolicy: { maxClients: 0, minStableFlowMs: 100 },
    });
    const error = problem(() =>
      resolveConfig([
        envLayer({ XPP_NODE_ADMIN_PUBLIC_KEY: 'abc' }),
        { source: 'config file x.json', values: { invitePolicy: { maxClients: -1, often: true } } },
      ]),
    );
    expect(error.message).toMatch(/adminPublicKey: .*64 hex digits.*\(from environment\)/);
    expect(error.message).toMatch(/invitePolicy\.maxClients: .*\(from config file x\.json\)/);
    expect(error.message).toMatch(/often/);
  });

  it('takes SIP server transaction limits from a config file, and refuses a reserve larger than the total', () => {
    const file = (values: Record<string, unknown>) => ({ source: 'config file x.json', values });
    expect(
      resolveConfig([file({ sipTransactionLimits: { perSource: 16, retryAfterS: 10 } })])
        .sipTransactionLimits,
    ).toEqual({ perSource: 16, retryAfterS: 10 });
    const error = problem(() => resolveConfig([file({ sipTransactionLimits: { total: 100 } })]));
    expect(error.message).toMatch(/sipTransactionLimits\.reserved: reserved must not exceed total/);
  });
});
