/**
 * `ip` conditions: a single address or a CIDR, IPv4 or IPv6. Matching uses node's BlockList, which
 * also matches IPv4-mapped IPv6 client addresses (`::ffff:10.0.0.1`) against IPv4 ranges.
 */
import { BlockList, isIP } from 'node:net';
import { PatternError } from './pattern.js';

export type IpMatcher = (ip: string) => boolean;

/** Parses `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7` or `::1`. Throws {@link PatternError}. */
export function parseIpCondition(text: string): IpMatcher {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  const addr = m?.[1] ?? '';
  const family = isIP(addr);
  if (!m || family === 0) throw new PatternError(`"${text}" is not an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)`);
  const max = family === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) throw new PatternError(`prefix /${prefix} is longer than ${max} bits`);
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(addr, prefix, type);
  return (ip) => {
    const f = isIP(ip);
    // Unknown or malformed client IPs never satisfy an ip condition (fail closed).
    return f !== 0 && list.check(ip, f === 4 ? 'ipv4' : 'ipv6');
  };
}
