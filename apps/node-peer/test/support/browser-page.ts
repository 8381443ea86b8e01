import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';

/**
 * What a test page does, in plain browser JavaScript (no transform between it and the browser): one JsSIP UA (its
 * defaults, as the README shows it) that registers, answers every incoming call, places a call, hangs up, and
 * reports what its latest session saw.
 */
const HARNESS = String.raw`(() => {
  let events = [];
  let sessions = 0;
  let ua;
  let session;
  const media = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } };
  const track = (s) => {
    session = s;
    sessions++;
    events = [];
    for (const name of ['progress', 'accepted', 'confirmed', 'ended', 'failed'])
      s.on(name, (e) => events.push(e && e.cause ? name + ':' + e.cause + ':' + e.originator : name));
  };
  if (location.hash === '#debug') JsSIP.debug.enable('JsSIP:Transport JsSIP:Transaction* JsSIP:RTCSession');
  window.xpp = {
    register({ url, uri, password }) {
      return new Promise((resolve, reject) => {
        ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(url)], uri, password });
        ua.on('registered', () => resolve('registered'));
        ua.on('registrationFailed', (e) => reject(new Error('registration failed: ' + e.cause)));
        ua.on('newRTCSession', (e) => {
          if (e.originator !== 'remote') return;
          track(e.session);
          events.push('incoming');
          e.session.answer(media);
        });
        ua.start();
      });
    },
    call(target) {
      track(ua.call(target, media));
    },
    hangup() {
      session.terminate();
    },
    async state() {
      const pc = session && session.connection;
      let packetsReceived = 0;
      if (pc)
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp') packetsReceived += s.packetsReceived || 0;
        });
      return { sessions, events: events.slice(), connection: pc ? pc.connectionState : 'none', packetsReceived };
    },
    stop() {
      ua.stop();
    },
  };
})();`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>xpp browser client</title>
<script src="/jssip.js"></script><script src="/harness.js"></script>`;

/** A page's view of its latest session: JsSIP session events, the RTCPeerConnection's state, RTP packets received. */
export interface PageState {
  /** Sessions the page has had (placed or answered). */
  readonly sessions: number;
  readonly events: string[];
  readonly connection: string;
  readonly packetsReceived: number;
}

/** JsSIP as one browser script (`window.JsSIP`): its npm package ships CommonJS only, no browser bundle. */
async function bundleJsSip(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('jssip');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    globalName: 'JsSIP',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

/** A static HTTP server on 127.0.0.1 (a secure context for getUserMedia) serving the client page. */
export class BrowserPageServer {
  private constructor(
    readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<BrowserPageServer> {
    const files = new Map([
      ['/', { type: 'text/html', body: PAGE }],
      ['/jssip.js', { type: 'text/javascript', body: await bundleJsSip() }],
      ['/harness.js', { type: 'text/javascript', body: HARNESS }],
    ]);
    const server = createServer((request, response) => {
      const file = files.get(request.url ?? '');
      if (file === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'Content-Type': file.type }).end(file.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new BrowserPageServer(server, `http://127.0.0.1:${port}/`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The JavaScript expression calling `xpp.<method>(…args)` on a page (arguments as JSON). */
export function harnessCall(
  method: 'register' | 'call' | 'hangup' | 'state' | 'stop',
  ...args: unknown[]
): string {
  return `window.xpp.${method}(${args.map((a) => JSON.stringify(a)).join(', ')})`;
}
