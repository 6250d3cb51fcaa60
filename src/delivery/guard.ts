/**
 * Webhook target guard: after DNS resolution, loopback, link-local (incl. cloud metadata) and
 * unspecified addresses are refused unless allow-listed (CALLHOOK_ALLOW_TARGETS).
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { AppError } from '../errors.js';

const BLOCKED: [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['::', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'],
];

export class TargetGuard {
  private readonly blocked = new BlockList();
  private readonly allowed = new BlockList();

  constructor(allow: string[]) {
    for (const [net, prefix, type] of BLOCKED) this.blocked.addSubnet(net, prefix, type);
    for (const cidr of allow) {
      const [net, prefix] = cidr.split('/');
      const type = isIP(net!) === 6 ? 'ipv6' : 'ipv4';
      if (!isIP(net!)) throw new AppError('config', `CALLHOOK_ALLOW_TARGETS: "${cidr}" is not an IP or CIDR`);
      this.allowed.addSubnet(net!, prefix ? Number(prefix) : type === 'ipv6' ? 128 : 32, type);
    }
  }

  /** undefined when the address may be used, else why not */
  check(address: string): string | undefined {
    const v = isIP(address);
    if (!v) return undefined;
    const type = v === 6 ? 'ipv6' : 'ipv4';
    const mapped = type === 'ipv6' && /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return this.check(mapped[1]!);
    if (this.allowed.check(address, type)) return undefined;
    return this.blocked.check(address, type) ? `target address ${address} is not allowed (see CALLHOOK_ALLOW_TARGETS)` : undefined;
  }

  /** a dns.lookup for undici's connector that refuses blocked addresses */
  readonly lookup = (
    hostname: string,
    options: object,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const ok = list.filter((a) => !this.check(a.address));
      if (ok.length === 0) {
        const e = new Error(this.check(list[0]?.address ?? '') ?? `no address for ${hostname}`) as NodeJS.ErrnoException;
        e.code = 'ETARGETBLOCKED';
        return callback(e, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
}
