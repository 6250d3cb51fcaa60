/** The store contract: every backend must pass these (run by sqlite.test.ts, later postgres). */
import { beforeEach, afterEach, describe, expect, it, vi } from 'vitest';
import type { Account, Store } from '../../src/store/store.js';
import type { Webhook } from '../../src/hooks/model.js';
import { HEALTHY } from '../../src/hooks/health.js';

export function account(id: string, extra: Partial<Account> = {}): Account {
  return { id, name: id, realm: null, parent_id: null, accountcodes: [], numbers: [], created: 1, updated: 1, ...extra };
}

export function webhook(id: string, accountId: string, extra: Partial<Webhook> = {}): Webhook {
  return {
    id,
    account_id: accountId,
    name: id,
    uri: 'http://127.0.0.1:9/hook',
    hook: 'all',
    http_verb: 'post',
    format: 'json',
    retries: 2,
    enabled: true,
    custom_data: { a: 1 },
    headers: { 'X-Key': 'v' },
    event_filter: null,
    include_internal_legs: false,
    include_subaccounts: false,
    failover_uri: null,
    secret: 'whsec_abc',
    previous_secret: null,
    previous_secret_until: null,
    disabled_reason: null,
    health: { ...HEALTHY },
    created: 1,
    updated: 1,
    ...extra,
  };
}

export const event = (id: string, leg: string, created = 1) => ({
  id,
  account_id: 'a1',
  hook_event: 'channel_create',
  leg,
  call_id: `call-${leg}`,
  payload: JSON.stringify({ event_id: id }),
  created,
});

export const attempt = (deliveryId: string, created: number, webhookId = 'h1') => ({
  delivery_id: deliveryId,
  webhook_id: webhookId,
  account_id: 'a1',
  event_id: 'e',
  hook_event: 'channel_create',
  call_id: 'c',
  uri: 'http://x',
  method: 'POST',
  status_code: 500,
  response_body: 'oops',
  duration_ms: 3,
  try_number: 1,
  retries_left: 1,
  result: 'failure' as const,
  reason: 'HTTP 500',
  created,
});

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.createAccount(account('a1', { numbers: ['15550001'], accountcodes: ['x'] }));
      await store.createAccount(account('a2'));
      await store.createWebhook(webhook('h1', 'a1'));
    });
    afterEach(async () => store.close());

    it('keeps accounts with their lists', async () => {
      expect(await store.getAccount('a1')).toMatchObject({ numbers: ['15550001'], accountcodes: ['x'] });
      await store.updateAccount({ ...(await store.getAccount('a1'))!, name: 'renamed', numbers: [] });
      expect((await store.getAccount('a1'))!.name).toBe('renamed');
      expect((await store.listAccounts()).map((a) => a.id)).toEqual(['a1', 'a2']);
      expect(await store.deleteAccount('a2')).toBe(true);
      expect(await store.getAccount('a2')).toBeUndefined();
    });

    it('finds tokens by hash and scopes their deletion to the account', async () => {
      await store.createToken({ id: 't1', account_id: 'a1', created: 5, last_used: null }, 'hash1');
      expect(await store.findToken('hash1')).toMatchObject({ id: 't1', account_id: 'a1' });
      expect(await store.findToken('nope')).toBeUndefined();
      expect(await store.deleteToken('a2', 't1')).toBe(false);
      expect(await store.deleteToken('a1', 't1')).toBe(true);
      expect(await store.findToken('hash1')).toBeUndefined();
    });

    it('round-trips a webhook and isolates accounts', async () => {
      expect(await store.getWebhook('a1', 'h1')).toEqual(webhook('h1', 'a1'));
      expect(await store.getWebhook('a2', 'h1')).toBeUndefined();
      await store.updateWebhook({ ...webhook('h1', 'a1'), uri: 'http://new', enabled: false, updated: 9 });
      expect(await store.getWebhook('a1', 'h1')).toMatchObject({ uri: 'http://new', enabled: false, updated: 9 });
      expect(await store.deleteWebhook('a2', 'h1')).toBe(false);
      expect(await store.deleteWebhook('a1', 'h1')).toBe(true);
    });

    it('pages webhooks by start_key', async () => {
      for (const id of ['h2', 'h3', 'h4']) await store.createWebhook(webhook(id, 'a1'));
      const first = await store.listWebhooks('a1', { limit: 3 });
      expect(first.items.map((h) => h.id)).toEqual(['h1', 'h2', 'h3']);
      expect(first.next_start_key).toBe('h4');
      const second = await store.listWebhooks('a1', { limit: 3, start_key: first.next_start_key });
      expect(second.items.map((h) => h.id)).toEqual(['h4']);
      expect(second.next_start_key).toBeUndefined();
    });

    it('disables and re-enables webhooks', async () => {
      expect(await store.disableWebhook('h1', 'receiver answered 410 Gone', 7)).toBe(true);
      expect(await store.disableWebhook('h1', 'again', 7)).toBe(false);
      expect(await store.activeWebhooks(['a1'])).toEqual([]);
      expect((await store.webhookById('h1'))!.disabled_reason).toBe('receiver answered 410 Gone');
      expect(await store.reenableWebhooks('a1', 8)).toBe(1);
      expect((await store.activeWebhooks(['a1'])).map((h) => h.id)).toEqual(['h1']);
      expect((await store.webhookById('h1'))!.disabled_reason).toBeNull();
    });

    it('a failure seen before an edit or re-enable does not disable the webhook', async () => {
      // h1 was last changed at 1: a try that saw it then may disable it
      expect(await store.disableWebhook('h1', '6 failed tries within 60 s', 7, true, 1)).toBe(true);
      expect(await store.reenableWebhooks('a1', 8)).toBe(1);
      // a try claimed before the re-enable (it saw updated 7) finishes after it
      expect(await store.disableWebhook('h1', '6 failed tries within 60 s', 9, true, 7)).toBe(false);
      expect((await store.webhookById('h1'))!).toMatchObject({ enabled: true, disabled_reason: null, updated: 8 });
      expect(await store.disableWebhook('h1', '6 failed tries within 60 s', 10, true, 8)).toBe(true);
    });

    it('a webhook disabled after failures collects events until re-enabled or disabled by its owner', async () => {
      await store.disableWebhook('h1', '6 failed tries within 60 s', 7, true);
      expect((await store.activeWebhooks(['a1'])).map((h) => h.id)).toEqual(['h1']);
      await store.insertEvents([{ event: event('e1', 'leg1'), webhookIds: ['h1'] }]);
      expect(await store.claimDeliveries(Date.now() + 1000, 10, 60_000)).toEqual([]);
      // edited while disabled, reason kept: still collecting
      const h = (await store.webhookById('h1'))!;
      await store.updateWebhook({ ...h, uri: 'http://127.0.0.1:9/fixed', updated: 8 });
      expect(await store.activeWebhooks(['a1'])).toHaveLength(1);
      // the owner disables it (no reason): it stops collecting
      await store.updateWebhook({ ...h, disabled_reason: null, updated: 9 });
      expect(await store.activeWebhooks(['a1'])).toEqual([]);
      expect(await store.countPending()).toBe(1);
    });

    it('stores an event once, with one delivery per hook', async () => {
      await store.createWebhook(webhook('h2', 'a1'));
      expect(await store.insertEvents([{ event: event('e1', 'leg1'), webhookIds: ['h1', 'h2'] }])).toBe(1);
      expect(
        await store.insertEvents([
          { event: event('e1', 'leg1'), webhookIds: ['h1', 'h2'] },
          { event: event('e2', 'leg1'), webhookIds: [] },
        ]),
      ).toBe(1);
      const due = await store.claimDeliveries(Date.now() + 1000, 10, 60_000);
      expect(due.map((d) => d.webhook_id).sort()).toEqual(['h1', 'h2']);
      expect(due[0]).toMatchObject({ event_id: 'e1', tries: 0, hook_event: 'channel_create', call_id: 'call-leg1' });
      expect(new Set(due.map((d) => d.id)).size).toBe(2);
    });

    it('stores the event but no delivery for a webhook deleted since the ingest looked it up', async () => {
      expect(await store.insertEvents([{ event: event('e1', 'legA'), webhookIds: ['h1', 'gone'] }])).toBe(1);
      expect((await store.claimDeliveries(Date.now() + 1000, 10, 60_000)).map((d) => d.webhook_id)).toEqual(['h1']);
    });

    it('leases what it hands out: nothing twice until the lease runs out or is released', async () => {
      await store.insertEvents([{ event: event('e1', 'legA'), webhookIds: ['h1'] }]);
      await store.insertEvents([{ event: event('e2', 'legB'), webhookIds: ['h1'] }]);
      const now = Date.now() + 1000;
      expect(await store.claimDeliveries(now, 10, 5000)).toHaveLength(2);
      expect(await store.claimDeliveries(now + 100, 10, 5000)).toEqual([]);
      expect(await store.nextDueAt(now)).toBeUndefined();
      // the leases ran out (a process died): both come back
      const again = await store.claimDeliveries(now + 5000, 10, 5000);
      expect(again).toHaveLength(2);
      await store.releaseDeliveries([again[0]!.id]);
      expect((await store.claimDeliveries(now + 5001, 10, 5000)).map((d) => d.id)).toEqual([again[0]!.id]);
    });

    it('holds back later deliveries of the same leg and hook until the earlier one is done', async () => {
      await store.insertEvents([{ event: event('e1', 'legA'), webhookIds: ['h1'] }]);
      await store.insertEvents([{ event: event('e2', 'legA'), webhookIds: ['h1'] }]);
      await store.insertEvents([{ event: event('e3', 'legB'), webhookIds: ['h1'] }]);
      const now = Date.now() + 1000;
      const due = await store.claimDeliveries(now, 10, 60_000);
      expect(due.map((d) => d.event_id)).toEqual(['e1', 'e3']);
      // e2 waits while e1 is pending, even after e1's lease ran out (then e1 itself comes back)
      expect((await store.claimDeliveries(now + 120_000, 10, 60_000)).map((d) => d.event_id)).toEqual(['e1', 'e3']);
      const first = due[0]!;
      await store.recordAttempts([
        { attempt: attempt(first.id, now), update: { id: first.id, status: 'succeeded', tries: 1, next_at: now, last_error: null } },
      ]);
      expect((await store.claimDeliveries(now, 10, 60_000)).map((d) => d.event_id)).toEqual(['e2']);
    });

    it('hands out nothing of a leg whose first delivery waits for its retry, however deep its queue', async () => {
      await store.insertEvents(Array.from({ length: 200 }, (_, i) => ({ event: event(`a${i}`, 'legA'), webhookIds: ['h1'] })));
      await store.insertEvents([{ event: event('b0', 'legB'), webhookIds: ['h1'] }]);
      const now = Date.now() + 1000;
      const [first, b0] = await store.claimDeliveries(now, 10, 60_000);
      expect([first!.event_id, b0!.event_id]).toEqual(['a0', 'b0']);
      await store.recordAttempts([
        { attempt: attempt(first!.id, now), update: { id: first!.id, status: 'pending', tries: 1, next_at: now + 60_000, last_error: 'HTTP 500' } },
        { attempt: attempt(b0!.id, now), update: { id: b0!.id, status: 'succeeded', tries: 1, next_at: now, last_error: null } },
      ]);
      await store.insertEvents([{ event: event('b1', 'legB'), webhookIds: ['h1'] }]);
      expect((await store.claimDeliveries(now, 10, 120_000)).map((d) => d.event_id)).toEqual(['b1']);
      expect((await store.claimDeliveries(now + 60_000, 10, 60_000)).map((d) => d.event_id)).toEqual(['a0']);
    });

    it('a finished delivery sent again goes before the later pending ones of its leg', async () => {
      await store.insertEvents(['e1', 'e2', 'e3'].map((id) => ({ event: event(id, 'legA'), webhookIds: ['h1'] })));
      const now = Date.now() + 1000;
      const finish = async (status: 'failed' | 'succeeded') => {
        const [d] = await store.claimDeliveries(now, 10, 60_000);
        await store.recordAttempts([{ attempt: attempt(d!.id, now), update: { id: d!.id, status, tries: 1, next_at: now, last_error: null } }]);
        return d!;
      };
      await finish('failed');
      const e2 = await finish('succeeded');
      expect(e2.event_id).toBe('e2');
      // e3 is next, but e1 and e2 are sent again first, in their order
      expect(await store.retryDelivery('h1', e2.id, now)).toBe(true);
      expect(await store.recoverDeliveries('h1', 0, now)).toBe(1);
      const order: string[] = [];
      for (let i = 0; i < 3; i++) order.push((await finish('succeeded')).event_id);
      expect(order).toEqual(['e1', 'e2', 'e3']);
      expect(await store.claimDeliveries(now, 10, 60_000)).toEqual([]);
    });

    it('does not hand out deliveries before next_at or of disabled hooks', async () => {
      await store.insertEvents([{ event: event('e1', 'legA'), webhookIds: ['h1'] }]);
      const [d] = await store.claimDeliveries(Date.now() + 1000, 10, 60_000);
      const later = Date.now() + 60_000;
      await store.recordAttempts([
        { attempt: attempt(d!.id, Date.now()), update: { id: d!.id, status: 'pending', tries: 1, next_at: later, last_error: 'HTTP 500' } },
      ]);
      expect(await store.claimDeliveries(Date.now(), 10, 60_000)).toEqual([]);
      expect(await store.nextDueAt(Date.now())).toBe(later);
      expect(await store.nextDueAt(later)).toBeUndefined();
      await store.disableWebhook('h1', 'x', 1);
      expect(await store.claimDeliveries(later, 10, 60_000)).toEqual([]);
      // re-enabled: what waited for its backoff is due at once
      const reenabled = Date.now();
      await store.reenableWebhooks('a1', reenabled);
      expect((await store.claimDeliveries(reenabled, 10, 60_000))[0]).toMatchObject({ id: d!.id, tries: 1 });
    });

    it('enabling a webhook by editing it makes its waiting deliveries due now', async () => {
      await store.insertEvents([{ event: event('e1', 'legA'), webhookIds: ['h1'] }]);
      const [d] = await store.claimDeliveries(Date.now() + 1000, 10, 60_000);
      await store.recordAttempts([
        { attempt: attempt(d!.id, Date.now()), update: { id: d!.id, status: 'pending', tries: 1, next_at: Date.now() + 3_600_000, last_error: 'HTTP 503' } },
      ]);
      await store.disableWebhook('h1', '6 failed tries within 60 s', 1, true);
      const h = (await store.webhookById('h1'))!;
      const now = Date.now();
      await store.updateWebhook({ ...h, uri: 'http://127.0.0.1:9/other', updated: now });
      expect(await store.nextDueAt(now)).toBeGreaterThan(now + 3_000_000); // still disabled: untouched
      await store.updateWebhook({ ...h, enabled: true, disabled_reason: null, updated: now });
      expect((await store.claimDeliveries(now, 10, 60_000)).map((x) => x.id)).toEqual([d!.id]);
    });

    it('claims at most the free slots of each webhook, all webhooks in turn', async () => {
      await store.createWebhook(webhook('h2', 'a1'));
      for (let i = 0; i < 4; i++) await store.insertEvents([{ event: event(`e${i}`, `leg${i}`), webhookIds: ['h1', 'h2'] }]);
      const now = Date.now() + 1000;
      const took: [string, number][] = [];
      await store.createWebhook(webhook('idle', 'a1'));
      const got = await store.claimDeliveries(now, 10, 60_000, { room: (h) => (h.id === 'h1' ? 1 : 3), took: (h, n) => took.push([h.id, n]) });
      // each webhook's share is told what it really took (a webhook with nothing due takes nothing)
      expect(Object.fromEntries(took)).toEqual({ h1: 1, h2: 3, idle: 0 });
      expect(got.filter((d) => d.webhook_id === 'h1')).toHaveLength(1);
      expect(got.filter((d) => d.webhook_id === 'h2')).toHaveLength(3);
      expect(await store.claimDeliveries(now, 2, 60_000)).toHaveLength(2);
    });

    it('deleting an account deletes what it owned and detaches its sub-accounts: an id used again starts empty', async () => {
      await store.createAccount(account('a3', { parent_id: 'a1' }));
      await store.insertEvents([{ event: event('e1', 'legA'), webhookIds: ['h1'] }]);
      const [d] = await store.claimDeliveries(Date.now() + 1000, 1, 60_000);
      await store.recordAttempts([{ attempt: attempt(d!.id, Date.now()), update: { id: d!.id, status: 'succeeded', tries: 1, next_at: 0, last_error: null } }]);
      expect(await store.deleteAccount('a1')).toBe(true);
      expect((await store.getAccount('a3'))!.parent_id).toBeNull();
      await store.createAccount(account('a1'));
      expect((await store.listWebhooks('a1', { limit: 10 })).items).toEqual([]);
      expect((await store.listAttempts({ account_id: 'a1', limit: 10 })).items).toEqual([]);
      expect(await store.prune(Date.now() + 10_000)).toMatchObject({ events: 0 });
    });

    describe('webhook health', () => {
      const failing = (nextProbe: number | null, extra = {}) => ({
        state: 'failing' as const,
        failing_since: 1000,
        last_error: 'HTTP 503',
        next_probe: nextProbe,
        probe_delay: 5000,
        failover_down: false,
        ...extra,
      });
      const threeLegs = async (hook = 'h1') => {
        for (const [i, leg] of ['legA', 'legB', 'legC'].entries()) await store.insertEvents([{ event: event(`e${i}`, leg), webhookIds: [hook] }]);
      };

      it('saves a transition only from the state it expects, and reads it back', async () => {
        const now = Date.now();
        expect(await store.setWebhookHealth('h1', failing(now + 5000), now, 'failing')).toBe(false);
        expect(await store.setWebhookHealth('h1', failing(now + 5000), now, 'healthy')).toBe(true);
        expect(await store.setWebhookHealth('h1', failing(now + 9000), now, 'healthy')).toBe(false);
        expect((await store.webhookById('h1'))!.health).toEqual(failing(now + 5000));
        expect(await store.countFailing()).toBe(1);
      });

      it('a failing webhook: nothing until its probe is due, then one probe, and no second while it is out', async () => {
        await threeLegs();
        const now = Date.now() + 1000;
        await store.setWebhookHealth('h1', failing(now + 5000), now);
        expect(await store.claimDeliveries(now, 10, 60_000)).toEqual([]);
        const probe = await store.claimDeliveries(now + 5000, 10, 60_000);
        expect(probe.map((d) => [d.event_id, d.target])).toEqual([['e0', 'probe']]);
        expect((await store.webhookById('h1'))!.health.next_probe).toBe(now + 5000 + 60_000);
        expect(await store.claimDeliveries(now + 6000, 10, 60_000)).toEqual([]);
      });

      it('a failing webhook with a failover: the rest go there, and wait while the failover is down too', async () => {
        await store.updateWebhook({ ...(await store.webhookById('h1'))!, failover_uri: 'http://127.0.0.1:9/failover', updated: 2 });
        await threeLegs();
        const now = Date.now() + 1000;
        await store.setWebhookHealth('h1', failing(now - 1), now);
        const got = await store.claimDeliveries(now, 10, 60_000);
        expect(got.map((d) => d.target)).toEqual(['probe', 'failover', 'failover']);
        await store.releaseDeliveries(got.map((d) => d.id));
        await store.setWebhookHealth('h1', failing(now + 5000, { failover_down: true }), now);
        expect(await store.claimDeliveries(now, 10, 60_000)).toEqual([]);
      });

      it('recovering makes the backlog due now; a re-enable or another uri starts healthy', async () => {
        await threeLegs();
        const now = Date.now() + 1000;
        await store.setWebhookHealth('h1', failing(now + 5000), now, 'healthy');
        // a held delivery waits for the next probe
        const [d] = await store.claimDeliveries(now + 5000, 1, 60_000);
        await store.recordAttempts([
          { attempt: attempt(d!.id, now), update: { id: d!.id, status: 'pending', tries: 0, next_at: now + 30_000, last_error: 'x' } },
        ]);
        expect(await store.setWebhookHealth('h1', { ...HEALTHY }, now, 'failing')).toBe(true);
        expect((await store.claimDeliveries(now, 10, 60_000)).map((x) => x.event_id).sort()).toEqual(['e0', 'e1', 'e2']);

        await store.setWebhookHealth('h1', failing(now), now);
        await store.disableWebhook('h1', 'failing for 72 h', now, true);
        await store.reenableWebhooks('a1', now + 1);
        expect((await store.webhookById('h1'))!.health.state).toBe('healthy');
        await store.setWebhookHealth('h1', failing(now), now);
        const h = (await store.webhookById('h1'))!;
        await store.updateWebhook({ ...h, name: 'renamed', updated: now + 2 });
        expect((await store.webhookById('h1'))!.health.state).toBe('failing');
        await store.updateWebhook({ ...h, uri: 'http://127.0.0.1:9/fixed', updated: now + 3 });
        expect((await store.webhookById('h1'))!.health).toMatchObject({ state: 'healthy', failing_since: null, last_error: 'HTTP 503' });
      });

      it('counts pending deliveries per webhook', async () => {
        await store.createWebhook(webhook('h2', 'a1'));
        await threeLegs();
        await store.insertEvents([{ event: event('e9', 'legZ'), webhookIds: ['h2'] }]);
        expect(Object.fromEntries(await store.pendingByWebhook(['h1', 'h2', 'nope']))).toEqual({ h1: 3, h2: 1, nope: 0 });
      });

      it('counts webhooks by health as the API shows it: a webhook not enabled is disabled, whatever its last health', async () => {
        expect(await store.countWebhooksByHealth()).toEqual({ healthy: 1, failing: 0, disabled: 0 });
        await store.createWebhook(webhook('h2', 'a1'));
        await store.createWebhook(webhook('h3', 'a2'));
        await store.createWebhook(webhook('h4', 'a2', { enabled: false }));
        expect(await store.setWebhookHealth('h2', failing(Date.now() + 5000), Date.now(), 'healthy')).toBe(true);
        expect(await store.setWebhookHealth('h3', failing(Date.now() + 5000), Date.now(), 'healthy')).toBe(true);
        expect(await store.countWebhooksByHealth()).toEqual({ healthy: 1, failing: 2, disabled: 1 });
        expect(await store.disableWebhook('h3', 'failing for too long', Date.now(), true)).toBe(true);
        expect(await store.countWebhooksByHealth()).toEqual({ healthy: 1, failing: 1, disabled: 2 });
        expect(await store.countFailing()).toBe(1);
      });

      it('rotates the secret, keeping the old one beside it until the grace period ends', async () => {
        expect(await store.rotateSecret('a2', 'h1', 'whsec_new', 5000, 10)).toBe(false);
        expect(await store.rotateSecret('a1', 'h1', 'whsec_new', 5000, 10)).toBe(true);
        expect(await store.webhookById('h1')).toMatchObject({ secret: 'whsec_new', previous_secret: 'whsec_abc', previous_secret_until: 5000 });
      });
    });

    it('lists deliveries by status, retries one, recovers failed ones since a time', async () => {
      for (const [i, leg] of ['legA', 'legB', 'legC'].entries()) await store.insertEvents([{ event: event(`e${i}`, leg), webhookIds: ['h1'] }]);
      const now = Date.now() + 1000;
      const [a, b] = await store.claimDeliveries(now, 2, 60_000);
      await store.recordAttempts([{ attempt: attempt(a!.id, now), update: { id: a!.id, status: 'failed', tries: 1, next_at: now, last_error: 'HTTP 404' } }]);
      await store.recordAttempts([{ attempt: attempt(b!.id, now), update: { id: b!.id, status: 'succeeded', tries: 1, next_at: now, last_error: null } }]);
      const failed = await store.listDeliveries({ webhook_id: 'h1', status: 'failed', limit: 10 });
      expect(failed.items.map((d) => [d.id, d.status, d.last_error, d.hook_event])).toEqual([[a!.id, 'failed', 'HTTP 404', 'channel_create']]);
      expect((await store.listDeliveries({ webhook_id: 'h1', limit: 10 })).items).toHaveLength(3);
      const page = await store.listDeliveries({ webhook_id: 'h1', limit: 2 });
      expect(page.next_start_key).toBeDefined();
      expect((await store.listDeliveries({ webhook_id: 'h1', limit: 2, start_key: page.next_start_key })).items).toHaveLength(1);
      expect(await store.retryDelivery('h1', b!.id, now)).toBe(true);
      expect(await store.retryDelivery('h1', b!.id, now)).toBe(false);
      expect(await store.retryDelivery('other', a!.id, now)).toBe(false);
      expect(await store.recoverDeliveries('h1', now + 60_000, now)).toBe(0);
      expect(await store.recoverDeliveries('h1', 0, now)).toBe(1);
      expect((await store.listDeliveries({ webhook_id: 'h1', status: 'pending', limit: 10 })).items).toHaveLength(3);
    });

    it('counts failed tries of a webhook in a window', async () => {
      for (let i = 1; i <= 3; i++)
        await store.recordAttempts([
          { attempt: attempt(`d${i}`, i * 1000), update: { id: `d${i}`, status: 'pending', tries: 1, next_at: 0, last_error: 'x' } },
        ]);
      expect(await store.failuresSince('h1', 2000)).toBe(2);
      expect(await store.failuresSince('h2', 0)).toBe(0);
    });

    it('prunes old attempts, finished deliveries and their events, never pending ones', async () => {
      await store.insertEvents([{ event: event('old', 'legA', 1), webhookIds: ['h1'] }]);
      await store.insertEvents([{ event: event('keep', 'legB', 1), webhookIds: ['h1'] }]);
      const [d] = await store.claimDeliveries(Date.now() + 1000, 1, 60_000);
      await store.recordAttempts([{ attempt: attempt(d!.id, 5), update: { id: d!.id, status: 'succeeded', tries: 1, next_at: 0, last_error: null } }]);
      const pruned = await store.prune(Date.now() + 10_000);
      expect(pruned).toEqual({ expired: 0, attempts: 1, deliveries: 1, events: 1 });
      expect((await store.listDeliveries({ webhook_id: 'h1', limit: 10 })).items.map((x) => x.event_id)).toEqual(['keep']);
    });

    it('prunes the old events stored after one that a PBX clock dated in the future', async () => {
      const year = 365 * 86_400_000;
      await store.insertEvents([{ event: event('ahead', 'legA', Date.now() + 10 * year), webhookIds: [] }]);
      await store.insertEvents([
        { event: event('old1', 'legB', 5), webhookIds: [] },
        { event: event('old2', 'legC', 6), webhookIds: [] },
      ]);
      await store.insertEvents([{ event: event('recent', 'legD', Date.now()), webhookIds: [] }]);
      expect(await store.prune(Date.now() - year)).toMatchObject({ events: 2 });
      expect(await store.prune(Date.now() - year)).toMatchObject({ events: 0 });
      // still there: the recent one and the future-dated one (stored once, so a repeat is a duplicate)
      expect(
        await store.insertEvents([
          { event: event('recent', 'legD'), webhookIds: [] },
          { event: event('ahead', 'legA'), webhookIds: [] },
        ]),
      ).toBe(0);
    });

    it('fails the pending deliveries of a disabled webhook once they pass the retention; recover brings them back', async () => {
      await store.createWebhook(webhook('h2', 'a1'));
      const day = 86_400_000;
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.now() - 40 * day); // stored 40 days ago
        await store.insertEvents([{ event: event('e1', 'legA', 1), webhookIds: ['h1', 'h2'] }]);
      } finally {
        vi.useRealTimers();
      }
      await store.disableWebhook('h2', '6 failed tries within 60 s', 1, true);
      expect(await store.prune(Date.now() - 50 * day)).toMatchObject({ expired: 0 }); // not old enough yet
      expect(await store.prune(Date.now() - 30 * day)).toMatchObject({ expired: 1, deliveries: 0, events: 0 });
      const [expired] = (await store.listDeliveries({ webhook_id: 'h2', limit: 10 })).items;
      expect(expired).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/^expired/) });
      expect((await store.listDeliveries({ webhook_id: 'h1', status: 'pending', limit: 10 })).items).toHaveLength(1);
      expect(await store.recoverDeliveries('h2', 0, Date.now())).toBe(1);
    });

    it('tells when the oldest pending delivery was stored; a claim carries the time of its event', async () => {
      expect(await store.oldestPending()).toBeUndefined();
      const before = Date.now();
      await store.insertEvents([{ event: event('e1', 'legA', 1111), webhookIds: ['h1'] }]);
      const after = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      const second = Date.now();
      await store.insertEvents([{ event: event('e2', 'legB', 2222), webhookIds: ['h1'] }]);
      const oldest = await store.oldestPending();
      expect(oldest).toBeGreaterThanOrEqual(before);
      expect(oldest).toBeLessThanOrEqual(after);
      const due = await store.claimDeliveries(Date.now() + 1000, 10, 60_000);
      expect(due.map((d) => [d.event_id, d.event_created]).sort()).toEqual([
        ['e1', 1111],
        ['e2', 2222],
      ]);
      // the first one delivered: the second is the oldest pending
      const d1 = due.find((d) => d.event_id === 'e1')!;
      const now = Date.now();
      await store.recordAttempts([
        { attempt: { ...attempt(d1.id, now), result: 'success' }, update: { id: d1.id, status: 'succeeded', tries: 1, next_at: now, last_error: null } },
      ]);
      expect(await store.oldestPending()).toBeGreaterThanOrEqual(second);
      // sent again: it is the oldest pending once more
      expect(await store.retryDelivery('h1', d1.id, Date.now())).toBe(true);
      expect(await store.oldestPending()).toBe(oldest);
      expect(await store.countPending()).toBe(2);
    });

    it('ping commits a write, again and again', async () => {
      await store.ping();
      const first = await store.getSetting('ready_check');
      expect(Number(first)).toBeGreaterThan(1_600_000_000_000);
      await new Promise((r) => setTimeout(r, 5));
      await store.ping();
      expect(Number(await store.getSetting('ready_check'))).toBeGreaterThan(Number(first));
    });

    it('keeps call legs with the events, and settings', async () => {
      await store.insertEvents([], {
        upserts: [
          { id: 'l1', state: '{"a":1}' },
          { id: 'l2', state: '{}' },
        ],
        deletes: [],
      });
      await store.insertEvents([{ event: event('e1', 'l1'), webhookIds: ['h1'] }], { upserts: [{ id: 'l1', state: '{"a":2}' }], deletes: ['l2'] });
      expect(await store.loadLegs()).toEqual([{ id: 'l1', state: '{"a":2}' }]);
      expect(await store.getSetting('startup')).toBeUndefined();
      await store.setSetting('startup', 'x');
      await store.setSetting('startup', 'y');
      expect(await store.getSetting('startup')).toBe('y');
    });

    it('lists attempts newest first, filtered by hook and time, paged', async () => {
      await store.createWebhook(webhook('h2', 'a1'));
      for (let i = 1; i <= 5; i++)
        await store.recordAttempts([
          { attempt: attempt(`d${i}`, i * 1000, i % 2 ? 'h1' : 'h2'), update: { id: `d${i}`, status: 'failed', tries: 1, next_at: 0, last_error: 'x' } },
        ]);
      const all = await store.listAttempts({ account_id: 'a1', limit: 2 });
      expect(all.items.map((a) => a.delivery_id)).toEqual(['d5', 'd4']);
      const next = await store.listAttempts({ account_id: 'a1', limit: 2, start_key: all.next_start_key });
      expect(next.items.map((a) => a.delivery_id)).toEqual(['d3', 'd2']);
      const h1 = await store.listAttempts({ account_id: 'a1', webhook_id: 'h1', limit: 10 });
      expect(h1.items.map((a) => a.delivery_id)).toEqual(['d5', 'd3', 'd1']);
      const window = await store.listAttempts({ account_id: 'a1', created_from: 2000, created_to: 4000, limit: 10 });
      expect(window.items.map((a) => a.delivery_id)).toEqual(['d4', 'd3', 'd2']);
      expect((await store.listAttempts({ account_id: 'a2', limit: 10 })).items).toEqual([]);
      expect(all.items[0]).toMatchObject({ status_code: 500, response_body: 'oops', result: 'failure', retries_left: 1 });
    });
  });
}
