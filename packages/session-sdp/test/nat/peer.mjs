// One NATed side of the NAT test: learns its server-reflexive address by STUN, registers with the public
// rendezvous, then calls (or answers) the other side by SIP; the XPP session opens by simultaneous SYNs through
// both NATs and carries a reliable transfer. Prints one JSON line with what happened.
import { randomBytes } from 'node:crypto';
import { SipHeaders, SipUserAgent, XppEndpoint, acceptXppCall, placeXppCall } from '@xpp/session-sdp';
import { Operation, Option } from '@xpp/wire';

const [role, me, other, hostAddress, server, chunks = '20'] = process.argv.slice(2);
const proxy = { address: server, port: 5060 };
const token = () => randomBytes(6).toString('hex');

function register(ua) {
  const headers = new SipHeaders()
    .append('Via', ua.layer.newVia())
    .append('Max-Forwards', '70')
    .append('From', `<sip:${me}@${server}>;tag=${token()}`)
    .append('To', `<sip:${me}@${server}>`)
    .append('Call-ID', `${token()}@${hostAddress}`)
    .append('CSeq', '1 REGISTER')
    .append('Contact', `<${ua.contactUri}>`)
    .append('Expires', '300');
  return new Promise((resolve, reject) => {
    ua.layer.sendRequest(
      { kind: 'request', method: 'REGISTER', uri: `sip:${server}`, headers, body: new Uint8Array(0) },
      proxy,
      {
        response: (r) =>
          r.status >= 200 && (r.status < 300 ? resolve(r) : reject(new Error(`REGISTER ${r.status}`))),
        timeout: () => reject(new Error('REGISTER timed out')),
        transportError: reject,
      },
    );
  });
}

const endpoint = await XppEndpoint.bind({ address: hostAddress, port: 7000 });
const srflx = await endpoint.discoverReflexiveAddress({ address: server, port: 3478 });
let incoming;
const ua = await SipUserAgent.listen({
  address: hostAddress,
  port: 5060,
  user: me,
  onInvite: (invite) => {
    incoming = acceptXppCall(invite, endpoint);
  },
});
await register(ua);
process.stdout.write(`registered\n`);

const started = Date.now();
const report = { role, srflx };
try {
  if (role === 'caller') {
    const call = await placeXppCall(ua, endpoint, `sip:${other}@${server}`, { nextHop: proxy });
    report.remote = call.session.remote;
    report.secure = call.session.secure;
    report.setupMs = Date.now() - started;
    let echoed = 0;
    for (let i = 0; i < Number(chunks); i++) {
      const data = randomBytes(50_000);
      const response = await call.session.request(Operation.PING.type, [Option.DATA.option(data)], {
        timeout: 30_000,
      });
      if (Buffer.compare(Buffer.from(Option.DATA.require(response.options)), data) !== 0)
        throw new Error('echo differs');
      echoed += data.length;
    }
    report.transferred = echoed;
    report.transferMs = Date.now() - started - report.setupMs;
    report.retransmits = call.session.stats.channel.retransmits;
    await call.hangUp();
  } else {
    while (incoming === undefined) await new Promise((r) => setTimeout(r, 20));
    const call = await incoming;
    report.remote = call.session.remote;
    report.secure = call.session.secure;
    report.ended = await call.call.ended;
  }
  report.drops = endpoint.stats.drops;
  report.ok = true;
} catch (error) {
  report.ok = false;
  report.error = String(error?.stack ?? error);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
await ua.close();
await endpoint.close();
process.exit(report.ok ? 0 : 1);
