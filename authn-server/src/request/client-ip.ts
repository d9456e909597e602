/**
 * The client address: the socket peer, unless the peer is a trusted proxy (`--trust-proxy`), in
 * which case X-Forwarded-For is walked from the right, skipping trusted hops. A forged header
 * from an untrusted peer is ignored, and reported through `onIgnored` (app.ts turns that into one
 * rate-limited warning: behind a proxy nobody told us about, every client shares the proxy's address,
 * so one attacker's failed logins would lock everyone out).
 */
import { BlockList, isIP } from 'node:net';

export type ClientIpResolver = (remote: string | undefined, xff: string | string[] | undefined) => string;

const unmap = (ip: string): string => (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

/** One X-Forwarded-For entry; some proxies add a port (`1.2.3.4:5678`, `[2001:db8::1]:443`), which is dropped. */
function hopAddress(entry: string): string {
  const text = entry.trim();
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text);
  return unmap(m ? m[1]! : text);
}

/** Parses `10.0.0.0/8,::1` (single addresses allowed). Throws naming the bad entry. */
export function parseCidrs(text: string): BlockList {
  const list = new BlockList();
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [addr = '', bits] = raw.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) throw new Error(`invalid CIDR "${raw}"`);
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

function trusted(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export function clientIpResolver(trustProxy: BlockList | undefined, onIgnored?: (peer: string) => void): ClientIpResolver {
  return (remote, xff) => {
    const peer = unmap(remote ?? '');
    if (!xff) return peer;
    if (!trustProxy || !trusted(trustProxy, peer)) {
      onIgnored?.(peer);
      return peer;
    }
    const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map(hopAddress).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIP(hop)) return peer;
      if (!trusted(trustProxy, hop)) return hop;
    }
    return hops[0] ?? peer;
  };
}
