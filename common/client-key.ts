/**
 * The throttle's notion of "one client": an IPv4 address, or an IPv6 /64 (a host normally gets a whole /64,
 * so counting single v6 addresses would hand it unlimited free attempts). IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * what a dual-stack socket reports) counts as the IPv4 address. Anything unparsable is used as is.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Expands an IPv6 address into 8 numbers, or null. */
function ipv6Groups(ip: string): number[] | null {
  let text = ip.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const o = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16)}:${(((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

export function clientKey(ip: string): string {
  const trimmed = ip.trim();
  if (isIPv4(trimmed)) return trimmed;
  if (!isIPv6(trimmed)) return trimmed;
  const g = ipv6Groups(trimmed);
  if (!g) return trimmed.toLowerCase();
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  if (mapped) return [(g[6] ?? 0) >> 8, (g[6] ?? 0) & 255, (g[7] ?? 0) >> 8, (g[7] ?? 0) & 255].join('.');
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}
