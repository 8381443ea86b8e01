import { isIP } from 'node:net';

/**
 * Dual stack (issue #20 item 6): a socket bound to `::` also carries IPv4, and the system names IPv4 peers as
 * IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2). Above the socket every address is its plain family's: a client on
 * 127.0.0.1 is `127.0.0.1` in Via `received`, flows and connection caps whether the peer bound `::` or `0.0.0.0`.
 */
const MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:a.b.c.d` as `a.b.c.d`; any other address as it is. */
export function unmapIpv4(address: string): string {
  return MAPPED.exec(address)?.[1] ?? address;
}

/** The address to give a socket of `family` for `address`: an IPv4 one mapped (`::ffff:a.b.c.d`) on an IPv6 socket. */
export function addressForSocket(address: string, family: 4 | 6): string {
  return family === 6 && isIP(address) === 4 ? `::ffff:${address}` : address;
}

/** Whether `address` is a wildcard (`0.0.0.0`, `::`): bound to every address, named by none. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** The IP family of an address (4 or 6), or undefined for something that is not an IP literal. */
export function familyOf(address: string): 4 | 6 | undefined {
  const family = isIP(unmapIpv4(address));
  return family === 4 || family === 6 ? family : undefined;
}
