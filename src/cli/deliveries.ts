/**
 * callhook deliveries recover: what the API's POST …/webhooks/{id}/recover does — a webhook's
 * failed deliveries created since a time go out again (pending, due now) — for one webhook or
 * every webhook of an account.
 */
import { AppError } from '../shared/errors.js';
import { Command } from 'commander';
import { toGregorianSeconds } from '../shared/gregorian.js';
import type { Webhook } from '../hooks/model.js';
import { allWebhooks } from './webhooks.js';
import { out, parseTime, printJson, printTable, shownTime, withJson, withStore, type JsonOption } from './common.js';

interface RecoverOptions extends JsonOption {
  since: string;
}

export function deliveriesCommand(): Command {
  const cmd = new Command('deliveries').description("a webhook's deliveries");

  withJson(
    cmd
      .command('recover')
      .description('send failed deliveries again: those created since --since, of one webhook or of every webhook of the account')
      .argument('<account>', 'account id')
      .argument('[webhook]', 'the webhook; without it every webhook of the account')
      .requiredOption(
        '--since <time>',
        'failed deliveries created since then: unix or Gregorian seconds, ISO 8601 (2026-11-24T14:00:00Z), or back from now (30m, 24h, 7d)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  callhook deliveries recover acme 3f2a…9c --since 24h\n  callhook deliveries recover acme --since 2026-11-24T00:00:00Z',
      ),
  ).action(async (accountId: string, webhookId: string | undefined, o: RecoverOptions) => {
    const since = parseTime(o.since, '--since');
    const results = await withStore(async (store) => {
      if (!(await store.getAccount(accountId))) throw new AppError('not_found', `account ${accountId} not found`);
      let hooks: Webhook[];
      if (webhookId) {
        const hook = await store.getWebhook(accountId, webhookId);
        if (!hook) throw new AppError('not_found', `webhook ${webhookId} of account ${accountId} not found`);
        hooks = [hook];
      } else {
        hooks = await allWebhooks(store, accountId);
      }
      const now = Date.now();
      const out: { webhook_id: string; name: string; recovered: number }[] = [];
      for (const h of hooks) out.push({ webhook_id: h.id, name: h.name, recovered: await store.recoverDeliveries(h.id, since, now) });
      return out;
    });
    const total = results.reduce((n, r) => n + r.recovered, 0);
    if (o.json) return printJson({ since: toGregorianSeconds(since), recovered: total, webhooks: results });
    printTable(results, ['webhook_id', 'name', 'recovered'], `account ${accountId} has no webhooks`);
    out(`${total} failed deliver${total === 1 ? 'y' : 'ies'} since ${shownTime(since)} pending again`);
  });

  return cmd;
}
