/**
 * Webhook target guard (docs/security.md, target guard). Refused unless allow-listed (CALLHOOK_ALLOW_TARGETS):
 * loopback, unspecified (0.0.0.0/8, ::), link-local (169.254/16 with the metadata address
 * 169.254.169.254, fe80::/10), the cloud metadata addresses 100.100.100.200 and
 * fd00:ec2::254, multicast (224/4, ff00::/8), broadcast (255.255.255.255), the IPv4-compatible
 * ::/96, the local-use NAT64 prefix 64:ff9b:1::/48, and every IPv6 form that embeds a refused
 * IPv4 address: IPv4-mapped ::ffff:0:0/96 (in every spelling: ::ffff:127.0.0.1 is
 * ::ffff:7f00:1), IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16 and
 * Teredo 2001::/32 (server and client address). Private ranges (10/8, 172.16/12, 192.168/16,
 * 100.64/10, fc00::/7, and the IPv6 forms embedding them) are refused only with
 * CALLHOOK_REFUSE_PRIVATE_TARGETS. Used at create/edit (checkUrl, names resolved with
 * dns.lookup) and again at connect time, after DNS resolution (lookup) or for an IP literal
 * (check).
 */
import { isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { AppError } from '../shared/errors.js';

type Bytes = number[];
interface Net {
  bytes: Bytes;
  prefix: number;
  why: string;
}

export interface TargetGuardOptions {
  /** CALLHOOK_REFUSE_PRIVATE_TARGETS: refuse private ranges too */
  refusePrivate?: boolean;
  /** resolves host names (tests); dns.lookup by default */
  lookup?: typeof dnsLookup;
}

/** the 4 or 16 bytes of an IP address, undefined when it is none */
export function ipBytes(address: string): Bytes | undefined {
  const v = isIP(address);
  if (v === 4) return address.split('.').map(Number);
  if (v !== 6) return undefined;
  let s = address.replace(/%.*$/, '').toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

const net = (cidr: string, why: string): Net => {
  const [addr, prefix] = cidr.split('/');
  const bytes = ipBytes(addr!)!;
  return { bytes, prefix: prefix === undefined ? bytes.length * 8 : Number(prefix), why };
};

function inNet(ip: Bytes, n: Net): boolean {
  if (ip.length !== n.bytes.length) return false;
  for (let bit = 0; bit < n.prefix; bit += 8) {
    const left = Math.min(8, n.prefix - bit);
    const mask = (0xff << (8 - left)) & 0xff;
    if ((ip[bit / 8]! & mask) !== (n.bytes[bit / 8]! & mask)) return false;
  }
  return true;
}

/** refused unless allow-listed; the first that matches names the reason */
const FORBIDDEN: Net[] = [
  net('0.0.0.0/8', 'unspecified'),
  net('127.0.0.0/8', 'loopback'),
  net('169.254.169.254/32', 'cloud metadata'),
  net('169.254.0.0/16', 'link-local'),
  net('100.100.100.200/32', 'cloud metadata'),
  net('224.0.0.0/4', 'multicast'),
  net('255.255.255.255/32', 'broadcast'),
  net('::/128', 'unspecified'),
  net('::1/128', 'loopback'),
  net('::/96', 'IPv4-compatible'),
  net('fe80::/10', 'link-local'),
  net('ff00::/8', 'multicast'),
  net('fd00:ec2::254/128', 'cloud metadata'),
  net('64:ff9b:1::/48', 'local-use NAT64'),
];

/** refused with CALLHOOK_REFUSE_PRIVATE_TARGETS */
const PRIVATE: Net[] = [
  net('10.0.0.0/8', 'private'),
  net('172.16.0.0/12', 'private'),
  net('192.168.0.0/16', 'private'),
  net('100.64.0.0/10', 'shared (CGNAT)'),
  net('fc00::/7', 'unique local'),
];

const MAPPED = net('::ffff:0:0/96', 'IPv4-mapped');
const TRANSLATED = net('::ffff:0:0:0/96', 'IPv4-translated');
const NAT64 = net('64:ff9b::/96', 'NAT64');
const SIX_TO_FOUR = net('2002::/16', '6to4');
const TEREDO = net('2001::/32', 'Teredo');

/** the IPv4 addresses an IPv6 address embeds, with the name of the form */
function embedded(ip: Bytes): { v4: Bytes; form: string }[] {
  if (ip.length !== 16) return [];
  if (inNet(ip, MAPPED) || inNet(ip, TRANSLATED) || inNet(ip, NAT64)) {
    const form = inNet(ip, MAPPED) ? MAPPED.why : inNet(ip, TRANSLATED) ? TRANSLATED.why : NAT64.why;
    return [{ v4: ip.slice(12), form }];
  }
  if (inNet(ip, SIX_TO_FOUR)) return [{ v4: ip.slice(2, 6), form: SIX_TO_FOUR.why }];
  if (inNet(ip, TEREDO)) {
    return [
      { v4: ip.slice(4, 8), form: 'Teredo server' },
      { v4: ip.slice(12).map((b) => b ^ 0xff), form: 'Teredo client' },
    ];
  }
  return [];
}

const shown = (ip: Bytes) => ip.join('.');

export class TargetGuard {
  private readonly allowed: Net[] = [];
  private readonly refusePrivate: boolean;
  private readonly resolve: typeof dnsLookup;

  constructor(allow: string[], opts: TargetGuardOptions = {}) {
    this.refusePrivate = opts.refusePrivate ?? false;
    this.resolve = opts.lookup ?? dnsLookup;
    for (const cidr of allow) {
      const [addr, prefix] = cidr.split('/');
      const bytes = ipBytes(addr!);
      const bits = bytes ? bytes.length * 8 : 0;
      if (!bytes || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
        throw new AppError('config', `CALLHOOK_ALLOW_TARGETS: "${cidr}" is not an IP or CIDR`);
      }
      this.allowed.push({ bytes, prefix: prefix === undefined ? bits : Number(prefix), why: 'allowed' });
    }
  }

  /** why an address (given as bytes) is refused, else undefined */
  private why(ip: Bytes): string | undefined {
    if (this.allowed.some((n) => inNet(ip, n))) return undefined;
    for (const { v4, form } of embedded(ip)) {
      const inner = this.why(v4);
      if (inner) return `${form} form of ${shown(v4)}: ${inner}`;
    }
    const forbidden = FORBIDDEN.find((n) => inNet(ip, n));
    if (forbidden) return forbidden.why;
    const priv = this.refusePrivate ? PRIVATE.find((n) => inNet(ip, n)) : undefined;
    if (priv) return `${priv.why}, refused by CALLHOOK_REFUSE_PRIVATE_TARGETS`;
    return undefined;
  }

  /** undefined when the address may be used, else why not */
  check(address: string): string | undefined {
    const ip = ipBytes(address);
    if (!ip) return undefined;
    const why = this.why(ip);
    return why && `target address ${address} is not allowed (${why}; see CALLHOOK_ALLOW_TARGETS)`;
  }

  /**
   * The check of a webhook URL at create/edit: an IP literal is checked, a host name is
   * resolved (every address) and refused when it resolves only to refused addresses. A name
   * that does not resolve now (or not within timeoutMs) passes: it is checked again at connect
   * time.
   */
  async checkUrl(uri: string, timeoutMs = 3000): Promise<string | undefined> {
    let host: string;
    try {
      host = new URL(uri).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return undefined; // not a URL: the webhook's validation says so
    }
    if (!host) return undefined;
    if (isIP(host)) return this.check(host);
    const list = await new Promise<LookupAddress[] | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      timer.unref();
      this.resolve(host, { all: true }, (err, addresses) => {
        clearTimeout(timer);
        resolve(err ? undefined : (addresses as LookupAddress[]));
      });
    });
    if (!list || list.length === 0) return undefined;
    const reasons = list.map((a) => this.check(a.address));
    if (!reasons.every(Boolean)) return undefined;
    return `${host} resolves only to addresses that are not allowed: ${reasons.join('; ')}`;
  }

  /** a dns.lookup for undici's connector that refuses blocked addresses */
  readonly lookup = (
    hostname: string,
    options: object,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.resolve(hostname, { ...options, all: true }, (err, addresses) => {
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
