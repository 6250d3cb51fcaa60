/**
 * callhook webhooks list|enable|disable. Enabling does what the API's re-enable does: one
 * webhook as an edit with enabled: true (no disabled reason, its health reset, its waiting
 * deliveries due now), or every disabled webhook of the account as PATCH {"re-enable": true}.
 * Disabling one is an edit with enabled: false (it stops collecting events).
 */
import { AppError } from '../shared/errors.js';
import { Command } from 'commander';
import type { Webhook } from '../hooks/model.js';
import { presentWebhook } from '../api/schema/webhook.js';
import { shownState } from '../hooks/health.js';
import { out, printJson, printTable, shownTime, withJson, withStore, type CliStore, type JsonOption } from './common.js';

/** every webhook of an account, page after page */
export async function allWebhooks(store: CliStore, accountId: string): Promise<Webhook[]> {
  const hooks: Webhook[] = [];
  for (let start: string | undefined; ;) {
    const page = await store.listWebhooks(accountId, { limit: 1000, start_key: start });
    hooks.push(...page.items);
    if (!page.next_start_key) return hooks;
    start = page.next_start_key;
  }
}

async function find(store: CliStore, accountId: string, id: string): Promise<Webhook> {
  const hook = await store.getWebhook(accountId, id);
  if (!hook) throw new AppError('not_found', `webhook ${id} of account ${accountId} not found`);
  return hook;
}

/** saves enabled on or off as the API's edit does; the webhook as stored then */
async function setEnabled(store: CliStore, hook: Webhook, enabled: boolean): Promise<Webhook> {
  const edited: Webhook = { ...hook, enabled, disabled_reason: null, updated: Date.now() };
  await store.updateWebhook(edited);
  return (await store.getWebhook(hook.account_id, hook.id)) ?? edited;
}

function row(h: Webhook, pending: number) {
  return {
    id: h.id,
    name: h.name,
    hook: h.hook,
    state: shownState(h.enabled, h.health),
    pending,
    target: `${h.http_verb.toUpperCase()} ${h.uri}${h.http_verb === 'get' ? '' : ` (${h.format})`}`,
    reason: h.enabled ? h.health.last_error : (h.disabled_reason ?? 'disabled by its owner'),
  };
}

export function webhooksCommand(): Command {
  const cmd = new Command('webhooks').description("list an account's webhooks, enable and disable them");

  withJson(
    cmd
      .command('list')
      .description("list an account's webhooks (or show one), with their health and pending deliveries")
      .argument('<account>', 'account id')
      .argument('[id]', 'only this webhook'),
  ).action(async (accountId: string, id: string | undefined, o: JsonOption) => {
    const { hooks, pending } = await withStore(async (store) => {
      if (!(await store.getAccount(accountId))) throw new AppError('not_found', `account ${accountId} not found`);
      const hooks = id ? [await find(store, accountId, id)] : await allWebhooks(store, accountId);
      return { hooks, pending: await store.pendingByWebhook(hooks.map((h) => h.id)) };
    });
    if (o.json) return printJson(hooks.map((h) => presentWebhook(h, pending.get(h.id) ?? 0)));
    printTable(
      hooks.map((h) => row(h, pending.get(h.id) ?? 0)),
      ['id', 'name', 'hook', 'state', 'pending', 'target', 'reason'],
      `account ${accountId} has no webhooks`,
    );
  });

  withJson(
    cmd
      .command('enable')
      .description('enable one webhook, or without an id every disabled webhook of the account (healthy again, waiting deliveries due now)')
      .argument('<account>', 'account id')
      .argument('[id]', 'the webhook; without it all disabled webhooks of the account'),
  ).action(async (accountId: string, id: string | undefined, o: JsonOption) => {
    const result = await withStore(async (store) => {
      if (!id) {
        if (!(await store.getAccount(accountId))) throw new AppError('not_found', `account ${accountId} not found`);
        return { enabled: await store.reenableWebhooks(accountId, Date.now()) };
      }
      return { hook: await setEnabled(store, await find(store, accountId, id), true) };
    });
    if ('enabled' in result) {
      if (o.json) return printJson({ 're-enable': true, enabled: result.enabled });
      return out(`enabled ${result.enabled} webhook${result.enabled === 1 ? '' : 's'} of account ${accountId}`);
    }
    if (o.json) return printJson(presentWebhook(result.hook));
    out(`enabled webhook ${result.hook.id} (${result.hook.name}) of account ${accountId}`);
  });

  withJson(
    cmd
      .command('disable')
      .description('disable a webhook: nothing is sent to it and it collects no events until enabled')
      .argument('<account>', 'account id')
      .argument('<id>', 'the webhook'),
  ).action(async (accountId: string, id: string, o: JsonOption) => {
    const hook = await withStore(async (store) => setEnabled(store, await find(store, accountId, id), false));
    if (o.json) return printJson(presentWebhook(hook));
    out(`disabled webhook ${hook.id} (${hook.name}) of account ${accountId} at ${shownTime(hook.updated)}`);
  });

  return cmd;
}
