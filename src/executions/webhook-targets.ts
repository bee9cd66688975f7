import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may send: http(s) URLs whose addresses are public. Webhooks make Oasis send
 * requests on a project's behalf, so without this rule any project member could reach what only
 * the Oasis host reaches: the cloud's metadata service (credentials), services on loopback, the
 * private network. The check runs on the URL at registration (for an IP literal) and on every
 * address the host name resolves to at each delivery, so a name that later resolves elsewhere
 * (DNS rebinding) is caught; the request then goes to the very address that was checked.
 */

/** Never reachable, whatever the configuration: link-local (metadata services), unspecified, multicast, reserved. */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('0.0.0.0', 8, 'ipv4');
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('224.0.0.0', 4, 'ipv4');
FORBIDDEN.addSubnet('240.0.0.0', 4, 'ipv4');
FORBIDDEN.addAddress('100.100.100.200', 'ipv4');
FORBIDDEN.addAddress('::', 'ipv6');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addSubnet('ff00::', 8, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');

/** Reachable only with OASIS_WEBHOOK_ALLOW_PRIVATE=on: loopback and private networks. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('192.0.0.0', 24, 'ipv4');
PRIVATE.addSubnet('198.18.0.0', 15, 'ipv4');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('64:ff9b::', 96, 'ipv6');

/** Why an address is refused, or undefined when a webhook may send to it. */
export function refusedAddress(address: string, allowPrivate: boolean): string | undefined {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is the IPv4 address.
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  if (mapped) return refusedAddress(mapped, allowPrivate);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (FORBIDDEN.check(address, type)) return `${address} is a link-local, unspecified, multicast or reserved address`;
  if (!allowPrivate && PRIVATE.check(address, type)) {
    return `${address} is a loopback or private address (OASIS_WEBHOOK_ALLOW_PRIVATE=on allows those)`;
  }
  return undefined;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** A URL's host as an address or name: IPv6 literals lose their brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * What registration can tell from the URL alone: http(s), no credentials in it, a host, and when
 * the host is an address or `localhost`, an allowed one. Returns the reason for refusing.
 */
export function refusedUrl(raw: string, allowPrivate: boolean): string | undefined {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'url must be an http:// or https:// URL';
  if (url.username !== '' || url.password !== '')
    return 'url must not carry credentials; the secret signs every delivery';
  const host = hostOf(url);
  if (host === '') return 'url must name a host';
  if (isIP(host)) return refusedAddress(host, allowPrivate);
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) {
    return `${host} is a loopback name (OASIS_WEBHOOK_ALLOW_PRIVATE=on allows those)`;
  }
  return undefined;
}

/**
 * The address to send to: the host resolved now, every address it resolves to checked (one
 * refused address refuses the host, so a name cannot mix a public and a private address).
 */
export async function resolveTarget(
  url: URL,
  allowPrivate: boolean,
): Promise<{ address: string; family: 4 | 6 } | { refused: string }> {
  const host = hostOf(url);
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true, verbatim: true });
  if (addresses.length === 0) return { refused: `${host} resolves to no address` };
  for (const { address } of addresses) {
    const refused = refusedAddress(address, allowPrivate);
    if (refused) return { refused: `${host} resolves to ${refused}` };
  }
  const [first] = addresses;
  return { address: first!.address, family: first!.family === 6 ? 6 : 4 };
}
