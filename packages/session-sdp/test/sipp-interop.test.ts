import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  SipUserAgent,
  answerXppSession,
  deriveDirectionalKeys,
  generateXppKeyPair,
  XppEndpoint,
  offerXppSession,
  type XppCallSetup,
} from '@xpp/session-sdp';
import { formatLtag } from '../src/sdp/ltag.js';
import { fileURLToPath } from 'node:url';
import { freeUdpPort, runSipp as runSippFile, sippVersion } from '@xpp/test-kit';

const runSipp = (scenario: string, port: number, extraArgs: readonly string[] = []) =>
  runSippFile(fileURLToPath(new URL(`./sipp/${scenario}`, import.meta.url)), { port, extraArgs });

const agents: SipUserAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((ua) => ua.close()));
});

describe('interop with sipp (Debian sip-tester)', () => {
  beforeAll(() => {
    expect(sippVersion()).toContain('SIPp');
  });

  it('sipp as UAC: INVITE with a UDP/XPP offer gets a valid answer, ACKs, BYEs', async () => {
    // The answer is a real endpoint's description (sipp offers no key, so the endpoint allows plaintext).
    const endpoint = await XppEndpoint.bind({ security: 'preferred' });
    const prepared = endpoint.prepare();
    const setups: Promise<XppCallSetup>[] = [];
    const ua = await SipUserAgent.listen({
      onInvite: (invite) => setups.push(answerXppSession(invite, () => prepared.description)),
    });
    agents.push(ua);
    const run = await runSipp('xpp-uac.xml', await freeUdpPort(), [`127.0.0.1:${ua.local.port}`]);
    prepared.cancel();
    await endpoint.close();
    expect(run.code, `${run.output}\n${run.logs}`).toBe(0);
    expect(run.logs).toContain(
      `XPP answer: m=application ${endpoint.address.port} UDP/XPP * a=ltag:${formatLtag(prepared.ltag)} c=IN IP4 127.0.0.1`,
    );
    expect(setups).toHaveLength(1);
    const setup = await setups[0]!;
    expect(setup.remote.ltag).toBe(0xabcd);
    expect(setup.remote.candidates).toEqual([
      expect.objectContaining({ type: 'host', address: '127.0.0.1', port: 7400 }),
    ]);
    expect(await setup.call.ended).toBe('remote-bye');
  });

  it('sipp as UAS: our UAC completes INVITE/200/ACK and BYE', async () => {
    const sippPort = await freeUdpPort();
    const ua = await SipUserAgent.listen();
    agents.push(ua);
    const keys = generateXppKeyPair();
    const run = runSipp('xpp-uas.xml', sippPort);
    // sipp needs a moment to bind; our INVITE retransmits (Timer A) if it comes too early.
    const setup = await offerXppSession(
      ua,
      `sip:sipp@127.0.0.1:${sippPort}`,
      {
        address: '127.0.0.1',
        port: 7100,
        ltag: 0x4321,
        candidates: [],
        publicKey: keys.publicKey,
      },
      { signal: AbortSignal.timeout(15_000) },
    );
    expect(setup.remote.ltag).toBe(0x5eed);
    expect(setup.remote.port).toBe(7500);
    // sipp's key is a usable X25519 key: session keys derive from it.
    const remoteKey = setup.remote.publicKey!;
    expect(
      deriveDirectionalKeys({
        local: keys,
        localLtag: 0x4321,
        remotePublicKey: remoteKey,
        remoteLtag: 0x5eed,
      }).send,
    ).toHaveLength(32);
    await setup.call.bye();
    const result = await run;
    expect(result.code, `${result.output}\n${result.logs}`).toBe(0);
    expect(result.logs).toMatch(/XPP offer: m=application 7100 UDP\/XPP \* a=ltag:0x4321 a=xpp-key:x25519:/);
  });
});
