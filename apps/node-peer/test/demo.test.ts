import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../../../tooling/scripts/demo.mjs', import.meta.url));

describe('the demo (npm run demo), short mode', () => {
  it('checks the wire format, grows a 5-peer overlay by invitations, calls between two users, restarts a peer and reports', async () => {
    const child = spawn(process.execPath, [DEMO, '--ci'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    // The report is shown when the demo failed: it says which step.
    expect({ code, err, report: code === 0 ? '' : out }).toEqual({ code: 0, err: '', report: '' });
    expect(out).not.toContain('FAIL');
    expect(out).toMatch(/^ok {3}fragment SYN\|REL seq 0x1234, ltag 0xAAAA → 0xBBBB: 10141234aaaabbbb$/m);
    expect(out).toMatch(/^ok {3}message PING #7 with DATA "hi": 000000070001000000000006000300026869$/m);
    expect(
      out.match(/registered with \w+ as a candidate \(\+sip\.xpp-peer\) and was invited: zone [01]+$/gm),
    ).toHaveLength(4);
    expect(out).toContain('ok   the zones tile the space: every point has one owner');
    expect(out).toMatch(/^ok {3}sip:alice@localhost REGISTER with digest at peer \w+: 200$/m);
    expect(out).toMatch(/^ok {3}sip:bob@localhost REGISTER with digest at peer \w+: 200$/m);
    const call = /^ok {3}call alice → bob through peers (\w+) → (\w+): INVITE 200, BYE 200$/m.exec(out);
    expect(call?.[1]).not.toBe(call?.[2]);
    // The peer table: five rows whose shares add up to the whole space.
    const rows = [...out.matchAll(/^(\w{8}) {2}([01]+) +([\d.]+)% +(\d+) +(\d+) +(\d+)$/gm)];
    expect(rows).toHaveLength(5);
    expect(rows.reduce((sum, r) => sum + Number(r[3]), 0)).toBeCloseTo(100, 0);
    for (const r of rows) expect(Number(r[4])).toBeGreaterThan(0);
    expect(out).toMatch(
      /^sip:alice@localhost: owner \w+ \(zone [01]+\), flow at \w+, \d hop\(s\) from there: /m,
    );
    expect(out).toMatch(
      /^sip:bob@localhost: owner \w+ \(zone [01]+\), flow at \w+, \d hop\(s\) from there: /m,
    );
    // The restart step (issue #18): the owner of bob's AOR stops without leaving and starts from its data directory.
    expect(out).toMatch(
      /^ok {3}peer \w+ restarted: zone [01]+ taken back, overlay \w+ on all 5 peers, \d+ records kept on disk$/m,
    );
    expect(out).toMatch(/^ok {3}bob's registration outlived the restart: 1 binding\(s\) at the owner$/m);
    expect(out).toMatch(/^ok {3}call alice → bob after the restart: INVITE 200, BYE 200$/m);
    expect(out.trimEnd().endsWith('demo: ok')).toBe(true);
    // Five joins, two calls and a restart in a child process: ~25 s on a loaded 2-core machine.
  }, 90_000);
});
