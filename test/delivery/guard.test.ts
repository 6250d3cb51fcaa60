/**
 * The webhook target guard (docs/security.md, target guard): table tests of every address form, by the guard alone,
 * at create time through checkUrl, and at connect time through HttpSender and ThreadSender
 * against a real local receiver (test/api/targets.test.ts has the API's create/edit check).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { ipBytes, TargetGuard } from '../../src/delivery/guard.js';
import { HttpSender } from '../../src/delivery/http.js';
import { ThreadSender } from '../../src/delivery/thread-sender.js';
import { jsonRequest } from '../../src/delivery/encode.js';
import { Receiver } from '../helpers/receiver.js';

/** refused whatever the settings, unless allow-listed */
const FORBIDDEN: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.9.9.9', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['169.254.169.254', 'AWS/GCP/Azure metadata'],
  ['169.254.1.1', 'link-local'],
  ['100.100.100.200', 'Alibaba metadata (inside 100.64/10)'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback, long'],
  ['::', 'unspecified'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local with zone'],
  ['ff02::1', 'multicast'],
  ['ff05::1:3', 'multicast'],
  ['fd00:ec2::254', 'AWS IPv6 metadata (inside fc00::/7)'],
  ['::ffff:127.0.0.1', 'IPv4-mapped'],
  ['::FFFF:127.0.0.1', 'IPv4-mapped, upper case'],
  ['::ffff:7f00:1', 'IPv4-mapped, hex (as new URL() spells it)'],
  ['0:0:0:0:0:ffff:7f00:1', 'IPv4-mapped, long hex'],
  ['0000:0000:0000:0000:0000:ffff:127.0.0.1', 'IPv4-mapped, long dotted'],
  ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
  ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata, hex'],
  ['::ffff:0:0', 'IPv4-mapped 0.0.0.0'],
  ['::ffff:100.100.100.200', 'IPv4-mapped Alibaba metadata'],
  ['::ffff:224.0.0.1', 'IPv4-mapped multicast'],
  ['::ffff:ffff:ffff', 'IPv4-mapped broadcast'],
  ['::ffff:0:7f00:1', 'IPv4-translated loopback'],
  ['::127.0.0.1', 'IPv4-compatible'],
  ['::7f00:1', 'IPv4-compatible, hex'],
  ['::a9fe:a9fe', 'IPv4-compatible metadata'],
  ['::8.8.8.8', 'IPv4-compatible (deprecated: all of ::/96)'],
  ['64:ff9b::127.0.0.1', 'NAT64 loopback'],
  ['64:ff9b::7f00:1', 'NAT64 loopback, hex'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 metadata'],
  ['64:ff9b::e000:1', 'NAT64 multicast'],
  ['64:ff9b:1::a00:1', 'local-use NAT64 (64:ff9b:1::/48)'],
  ['2002:7f00:1::', '6to4 of 127.0.0.1'],
  ['2002:a9fe:a9fe::1', '6to4 of 169.254.169.254'],
  ['2002::1', '6to4 of 0.0.0.0'],
  ['2002:6464:64c8::', '6to4 of 100.100.100.200'],
  ['2001:0:7f00:1::1', 'Teredo, server 127.0.0.1'],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo, client 127.0.0.1 (obfuscated)'],
];

/** allowed unless CALLHOOK_REFUSE_PRIVATE_TARGETS */
const PRIVATE: [string, string][] = [
  ['10.0.0.5', '10/8'],
  ['172.16.0.1', '172.16/12'],
  ['172.31.255.255', '172.16/12'],
  ['192.168.1.20', '192.168/16'],
  ['100.64.0.1', '100.64/10'],
  ['100.127.255.255', '100.64/10'],
  ['100.100.100.201', '100.64/10, beside the metadata address'],
  ['fc00::1', 'fc00::/7'],
  ['fd12:3456::1', 'fc00::/7'],
  ['::ffff:10.0.0.5', 'IPv4-mapped 10/8'],
  ['::ffff:c0a8:114', 'IPv4-mapped 192.168/16, hex'],
  ['64:ff9b::a00:5', 'NAT64 of 10/8'],
  ['2002:c0a8:114::1', '6to4 of 192.168/16'],
];

/** allowed whatever the settings */
const PUBLIC: string[] = [
  '203.0.113.7',
  '8.8.8.8',
  '172.32.0.1',
  '100.128.0.1',
  '223.255.255.255',
  '2001:db8::1',
  '2606:4700::1111',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
  '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
];

describe('ipBytes', () => {
  it.each([
    ['127.0.0.1', [127, 0, 0, 1]],
    ['::1', [...new Array(15).fill(0), 1]],
    ['::ffff:127.0.0.1', [...new Array(10).fill(0), 255, 255, 127, 0, 0, 1]],
    ['::ffff:7f00:1', [...new Array(10).fill(0), 255, 255, 127, 0, 0, 1]],
    ['2002:a9fe:a9fe::1', [0x20, 0x02, 169, 254, 169, 254, ...new Array(9).fill(0), 1]],
    ['fe80::1%eth0', [0xfe, 0x80, ...new Array(13).fill(0), 1]],
  ])('%s', (ip, bytes) => expect(ipBytes(ip)).toEqual(bytes));
  it('is undefined for a name', () => expect(ipBytes('example.com')).toBeUndefined());
});

describe('TargetGuard.check', () => {
  const guard = new TargetGuard([]);
  const strict = new TargetGuard([], { refusePrivate: true });
  it.each(FORBIDDEN)('refuses %s (%s)', (ip) => {
    expect(guard.check(ip)).toMatch(/not allowed/);
    expect(strict.check(ip)).toMatch(/not allowed/);
  });
  it.each(PRIVATE)('allows the private %s (%s) by default, refuses it with refusePrivate', (ip) => {
    expect(guard.check(ip)).toBeUndefined();
    expect(strict.check(ip)).toMatch(/not allowed.*CALLHOOK_REFUSE_PRIVATE_TARGETS/);
  });
  it.each(PUBLIC)('allows %s', (ip) => {
    expect(guard.check(ip)).toBeUndefined();
    expect(strict.check(ip)).toBeUndefined();
  });
  it('says why, naming the embedded address', () => {
    expect(guard.check('::ffff:7f00:1')).toBe(
      'target address ::ffff:7f00:1 is not allowed (IPv4-mapped form of 127.0.0.1: loopback; see CALLHOOK_ALLOW_TARGETS)',
    );
    expect(guard.check('169.254.169.254')).toMatch(/cloud metadata/);
    expect(guard.check('2002:a9fe:a9fe::1')).toMatch(/6to4 form of 169\.254\.169\.254: cloud metadata/);
  });
  it('lets the allow list through, also in the IPv6 forms of an allowed IPv4 address', () => {
    const g = new TargetGuard(['127.0.0.0/8', '::1']);
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::7f00:1']) expect(g.check(ip), ip).toBeUndefined();
    for (const ip of ['169.254.169.254', '::ffff:a9fe:a9fe', '0.0.0.0', '::']) expect(g.check(ip), ip).toMatch(/not allowed/);
  });
  it('an allow list entry beats refusePrivate and the forbidden ranges alike', () => {
    const g = new TargetGuard(['10.1.0.0/16', '169.254.169.254', 'fd00:ec2::/32'], { refusePrivate: true });
    expect(g.check('10.1.2.3')).toBeUndefined();
    expect(g.check('10.2.0.1')).toMatch(/not allowed/);
    expect(g.check('169.254.169.254')).toBeUndefined();
    expect(g.check('169.254.169.253')).toMatch(/not allowed/);
    expect(g.check('fd00:ec2::254')).toBeUndefined();
  });
  it.each(['not-an-ip', '10.0.0.0/33', '::1/129', '10.0.0.0/x', 'example.com/8'])('refuses the allow list entry %s', (entry) => {
    expect(() => new TargetGuard([entry])).toThrow(/CALLHOOK_ALLOW_TARGETS/);
  });
});

/** a lookup that answers the given addresses for every name */
const answering = (addresses: string[]) =>
  ((_host: string, _opts: object, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) =>
    cb(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    )) as unknown as typeof import('node:dns').lookup;

describe('TargetGuard.checkUrl (create/edit)', () => {
  const guard = new TargetGuard([]);
  it.each([
    'http://127.0.0.1:8080/hook',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[0:0:0:0:0:ffff:7f00:1]/',
    'http://[::127.0.0.1]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[2002:7f00:1::]/',
    'http://[ff02::1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://[fd00:ec2::254]/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://0.0.0.0:9090/',
    'http://localhost:8080/',
  ])('refuses %s', async (uri) => {
    expect(await guard.checkUrl(uri)).toMatch(/not allowed/);
  });
  it('refuses a name that resolves only to refused addresses (every one is looked at)', async () => {
    const g = new TargetGuard([], { lookup: answering(['::ffff:127.0.0.1', '169.254.169.254']) });
    expect(await g.checkUrl('https://crm.example.com/x')).toMatch(
      /^crm\.example\.com resolves only to addresses that are not allowed: .*127\.0\.0\.1.*169\.254\.169\.254/,
    );
  });
  it('lets a name through that also resolves to an allowed address (connect time uses only that one)', async () => {
    const g = new TargetGuard([], { lookup: answering(['127.0.0.1', '203.0.113.7']) });
    expect(await g.checkUrl('https://crm.example.com/x')).toBeUndefined();
  });
  it('refuses a name that resolves only to private addresses with refusePrivate', async () => {
    const lookup = answering(['10.0.0.5', 'fd12::1']);
    expect(await new TargetGuard([], { lookup }).checkUrl('https://crm.internal/x')).toBeUndefined();
    expect(await new TargetGuard([], { lookup, refusePrivate: true }).checkUrl('https://crm.internal/x')).toMatch(/not allowed/);
  });
  it('lets a name through that does not resolve (now, or within the time), to be checked at connect time', async () => {
    const failing = ((_h: string, _o: object, cb: (err: NodeJS.ErrnoException) => void) =>
      cb(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }))) as unknown as typeof import('node:dns').lookup;
    expect(await new TargetGuard([], { lookup: failing }).checkUrl('https://nowhere.invalid/')).toBeUndefined();
    const silent = (() => undefined) as unknown as typeof import('node:dns').lookup;
    expect(await new TargetGuard([], { lookup: silent }).checkUrl('https://slow.example/', 50)).toBeUndefined();
  });
  it('allows public and (by default) private targets', async () => {
    for (const uri of ['http://203.0.113.7/', 'http://10.0.0.5:8080/', 'http://[fd12::1]/', 'http://[::ffff:8.8.8.8]/'])
      expect(await guard.checkUrl(uri), uri).toBeUndefined();
  });
});

describe('TargetGuard.lookup (connect time, after DNS)', () => {
  const guard = new TargetGuard([]);
  const lookupWith = (g: TargetGuard, all = false) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      g.lookup('crm.example.com', { all }, (err, address) => resolve({ err, address })),
    );
  it('refuses a name that resolves to loopback', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => guard.lookup('localhost', {}, (e) => resolve(e)));
    expect(err?.code).toBe('ETARGETBLOCKED');
  });
  it.each(['::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a9fe:a9fe', '100.100.100.200', '224.0.0.1', '::'])(
    'refuses a name that resolves to %s',
    async (ip) => {
      const { err } = await lookupWith(new TargetGuard([], { lookup: answering([ip]) }));
      expect(err).toMatchObject({ code: 'ETARGETBLOCKED', message: expect.stringContaining('not allowed') });
    },
  );
  it('connects only to the allowed addresses of a name', async () => {
    const g = new TargetGuard([], { lookup: answering(['::ffff:7f00:1', '203.0.113.7']) });
    expect(await lookupWith(g)).toEqual({ err: null, address: '203.0.113.7' });
    expect((await lookupWith(g, true)).address).toEqual([{ address: '203.0.113.7', family: 4 }]);
  });
});

/** the URL of a receiver at `host` (an IP literal in the form under test) */
const at = (receiverUrl: string, host: string) => {
  const u = new URL(receiverUrl);
  return `http://${host.includes(':') ? `[${host}]` : host}:${u.port}${u.pathname}`;
};

describe('at connect time, against a real local receiver', () => {
  let receiver: Receiver;
  let dual: Server;
  const sent = { connectTimeoutMs: 1000, timeoutMs: 2000, connections: 4 };
  beforeAll(async () => {
    receiver = await Receiver.start();
    // listens on every address, IPv4 and IPv6: reached through ::ffff:127.0.0.1 and local unique-local addresses
    dual = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => dual.listen(0, '::', r));
  });
  afterAll(async () => {
    await receiver.close();
    dual.closeAllConnections();
    await new Promise((r) => dual.close(r));
  });
  const dualPort = () => (dual.address() as AddressInfo).port;

  const LOOPBACK_FORMS = [
    '127.0.0.1',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:1',
    '::127.0.0.1',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
    '0.0.0.0',
    '::',
  ];

  it.each(LOOPBACK_FORMS)('HttpSender refuses %s before connecting: the receiver hears nothing', async (host) => {
    const sender = new HttpSender({ ...sent, guard: new TargetGuard([]) });
    try {
      const res = await sender.send(jsonRequest(at(receiver.url(), host), 'post', '{}'), {});
      expect(res).toMatchObject({ status: undefined, error: expect.stringContaining('not allowed') });
    } finally {
      await sender.close();
    }
    expect(receiver.requests).toHaveLength(0);
  });

  it.each(['169.254.169.254', '100.100.100.200', '224.0.0.1', '255.255.255.255', '[ff02::1]', '[fd00:ec2::254]', '[::ffff:a9fe:a9fe]', '[2002:a9fe:a9fe::1]'])(
    'HttpSender refuses %s at once, without a connect attempt',
    async (host) => {
      const sender = new HttpSender({ ...sent, guard: new TargetGuard([]) });
      try {
        const res = await sender.send(jsonRequest(`http://${host}:8080/hook`, 'post', '{}'), {});
        expect(res).toMatchObject({ status: undefined, error: expect.stringContaining('not allowed') });
        expect(res.durationMs).toBeLessThan(100);
      } finally {
        await sender.close();
      }
    },
  );

  it('an allow-listed IPv4 address is reached in its IPv4-mapped forms too', async () => {
    const sender = new HttpSender({ ...sent, guard: new TargetGuard(['127.0.0.0/8']) });
    try {
      for (const host of ['127.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
        const res = await sender.send(jsonRequest(`${at(`http://127.0.0.1:${dualPort()}/hook`, host)}`, 'post', '{}'), {});
        expect(res, host).toMatchObject({ status: 200, error: undefined });
      }
      // ::1 is another address: not in the allow list
      const v6 = await sender.send(jsonRequest(at(`http://127.0.0.1:${dualPort()}/hook`, '::1'), 'post', '{}'), {});
      expect(v6.error).toMatch(/not allowed/);
    } finally {
      await sender.close();
    }
  });

  it('ThreadSender refuses the embedded forms in the sending thread, and a name resolving to loopback', async () => {
    const sender = new ThreadSender({ ...sent, allowTargets: [] });
    try {
      for (const host of ['::ffff:7f00:1', '::127.0.0.1', '64:ff9b::7f00:1', '2002:7f00:1::']) {
        const res = await sender.send(jsonRequest(at(receiver.url(), host), 'post', '{}'), {});
        expect(res, host).toMatchObject({ status: undefined, error: expect.stringContaining('not allowed') });
      }
      const byName = await sender.send(jsonRequest(receiver.url().replace('127.0.0.1', 'localhost'), 'post', '{}'), {});
      expect(byName.error).toMatch(/ETARGETBLOCKED: .*not allowed/);
    } finally {
      await sender.close();
    }
    expect(receiver.requests).toHaveLength(0);
  });

  it('ThreadSender with refusePrivateTargets refuses a private target at once; with an allow list entry it goes out', async () => {
    const strict = new ThreadSender({ ...sent, allowTargets: ['127.0.0.0/8'], refusePrivateTargets: true });
    try {
      const res = await strict.send(jsonRequest('http://10.0.0.5:8080/hook', 'post', '{}'), {});
      expect(res).toMatchObject({ status: undefined, error: expect.stringMatching(/not allowed.*CALLHOOK_REFUSE_PRIVATE_TARGETS/) });
      expect(res.durationMs).toBeLessThan(100);
      expect(await strict.send(jsonRequest(receiver.url('/ok'), 'post', '{}'), {})).toMatchObject({ status: 200 });
    } finally {
      await strict.close();
    }
    expect(receiver.requests.map((r) => r.path)).toEqual(['/ok']);
    receiver.requests.length = 0;
  });

  // a private (RFC 1918 / unique local) address of this machine, if it has one
  const privateGuard = new TargetGuard([], { refusePrivate: true });
  const publicGuard = new TargetGuard([]);
  const ownPrivate = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && !a.internal && !a.address.startsWith('fe80') && privateGuard.check(a.address) && !publicGuard.check(a.address))?.address;
  it.skipIf(!ownPrivate)(
    `a private address of this machine (${ownPrivate ?? 'none'}) is reached by default and refused with refusePrivateTargets`,
    async () => {
      const open = new ThreadSender({ ...sent, allowTargets: [] });
      const strict = new ThreadSender({ ...sent, allowTargets: [], refusePrivateTargets: true });
      try {
        const url = at(`http://127.0.0.1:${dualPort()}/hook`, ownPrivate!);
        expect(await open.send(jsonRequest(url, 'post', '{}'), {})).toMatchObject({ status: 200 });
        expect((await strict.send(jsonRequest(url, 'post', '{}'), {})).error).toMatch(/not allowed/);
      } finally {
        await open.close();
        await strict.close();
      }
    },
  );
});
