/**
 * callhook replay FILE.jsonl: a recorded ARI stream (one ARI event JSON a line, as Asterisk sent
 * them; test/fixtures/README.md) through the real CallTracker and the outbox's payload builder,
 * offline: nothing is stored, nothing is sent. Prints what callhook would send, one JSON line
 * per call event (or per call event and webhook with --webhooks); a summary goes to stderr.
 */
import { AppError } from '../shared/errors.js';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AccountDirectory, type AccountEntry } from '../calls/account.js';
import { CallTracker } from '../calls/tracker.js';
import { encodeRequest, formEncode } from '../delivery/encode.js';
import { outboxItem } from '../pipeline/outbox.js';
import { withCustomData, type Payload, type Scalar } from '../events/payload.js';
import type { BodyFormat, Webhook } from '../hooks/model.js';
import { config, note, openStore, out, usage, type CliStore } from './common.js';

interface ReplayOptions {
  account?: string;
  realm?: string;
  format: BodyFormat;
  customData?: string;
  webhooks?: boolean;
}

/** the ARI events of a recording; lines that are no JSON are reported and skipped (as the daemon skips such frames) */
function readRecording(file: string): { events: unknown[]; skipped: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('not_found', `cannot read ${file}: ${(err as Error).message}`);
  }
  const events: unknown[] = [];
  let skipped = 0;
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line));
    } catch {
      skipped += 1;
      note(`${file}:${i + 1}: not JSON; skipped`);
    }
  });
  return { events, skipped };
}

function customDataOf(text: string | undefined): Record<string, Scalar> | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw usage(`--custom-data: not JSON: ${text}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => x !== null && typeof x === 'object')) {
    throw usage('--custom-data: expected a JSON object of strings, numbers, booleans or null');
  }
  return v as Record<string, Scalar>;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description('replay a recorded ARI stream offline and print the webhook payloads callhook would send (JSON lines); nothing is stored or sent')
    .argument('<file>', 'the recording: one ARI event JSON a line (node asterisk/record.mjs OUT.jsonl records one)')
    .option(
      '--account <id>',
      'every call leg belongs to this account (a stand-in, no store needed); with --webhooks the account of legs that resolve to no stored account',
    )
    .option('--realm <host>', 'realm of from/to/request for accounts without one (default: CALLHOOK_DEFAULT_REALM, else the host of CALLHOOK_ARI_URL)')
    .addOption(
      new Option(
        '--format <format>',
        'print each payload as this body: json, or form-data (application/x-www-form-urlencoded, as a POST form-data webhook gets it)',
      )
        .choices(['json', 'form-data'])
        .default('json'),
    )
    .option('--custom-data <json>', "merge this JSON object into every payload, as a webhook's custom_data is (its keys win)")
    .option(
      '--webhooks',
      'apply the configured webhooks: accounts and webhooks from the store (CALLHOOK_DATA_DIR or DATABASE_URL, read only), one line per event and webhook that wants it, with its custom_data, verb and format',
    )
    .addHelpText(
      'after',
      `
Each line without --webhooks is the payload (or with --format form-data its form body) of one
call event, in the order callhook would store them. With --webhooks each line is
{"webhook_id", "hook_event", "event_id", "method", "url", "content_type", "body"}: the request
the webhook would get (signature headers aside).

Examples:
  callhook replay test/fixtures/dial_answered.jsonl --account acme --realm acme.example
  callhook replay call.jsonl --account acme --format form-data --custom-data '{"crm_id": 42}'
  callhook replay call.jsonl --webhooks | jq -r .url`,
    )
    .action(async (file: string, o: ReplayOptions) => {
      if (!o.account && !o.webhooks)
        throw usage('replay needs --account ID (a stand-in account for every leg) or --webhooks (the accounts and webhooks of the store)');
      const customData = customDataOf(o.customData);
      if (o.webhooks && (customData || o.format !== 'json'))
        throw usage("--webhooks uses each webhook's own custom_data and format: leave out --custom-data and --format");
      const c = config();
      const defaultRealm = o.realm ?? c.defaultRealm ?? new URL(c.ari.url).hostname;
      const { events, skipped } = readRecording(file);

      let store: CliStore | undefined;
      let accountList: AccountEntry[];
      if (o.webhooks) {
        store = await openStore(c);
        accountList = await store.listAccounts();
        if (o.account && !accountList.some((a) => a.id === o.account)) {
          await store.close();
          throw new AppError('not_found', `account ${o.account} not found in the store`);
        }
      } else {
        accountList = [{ id: o.account!, realm: null, parent_id: null, numbers: [], accountcodes: [] }];
      }
      try {
        const accounts = new AccountDirectory(o.account ?? c.defaultAccount);
        accounts.load(accountList);
        const tracker = new CallTracker(accounts, { accountVariable: c.accountVariable });
        const hooksOf = new Map<string, Webhook[]>();
        const byId = new Map<string, Webhook>();
        let callEvents = 0;
        let requests = 0;
        for (const ev of events) {
          for (const callEvent of tracker.handle(ev)) {
            let candidates: Webhook[] = [];
            if (store) {
              candidates = hooksOf.get(callEvent.accountId) ?? (await store.activeWebhooks(accounts.lineage(callEvent.accountId)));
              hooksOf.set(callEvent.accountId, candidates);
              for (const h of candidates) byId.set(h.id, h);
            }
            let item;
            try {
              item = outboxItem(callEvent, candidates, accounts, defaultRealm);
            } catch (err) {
              note(`could not build the ${callEvent.hookEvent} of ${callEvent.leg.callId}: ${(err as Error).message}; skipped`);
              continue;
            }
            callEvents += 1;
            const payload = JSON.parse(item.event.payload) as Payload;
            if (!store) {
              const p = customData ? withCustomData(payload, customData) : payload;
              out(o.format === 'form-data' ? formEncode(p) : JSON.stringify(p));
              continue;
            }
            for (const id of item.webhookIds) {
              const hook = byId.get(id)!;
              const req = encodeRequest(hook.uri, withCustomData(payload, hook.custom_data), hook.http_verb, hook.format);
              requests += 1;
              out(
                JSON.stringify({
                  webhook_id: hook.id,
                  hook_event: item.event.hook_event,
                  event_id: item.event.id,
                  method: req.method,
                  url: req.url,
                  content_type: req.contentType ?? null,
                  body: req.body ?? null,
                }),
              );
            }
          }
        }
        const parts = [`${events.length} ARI events`, `${callEvents} call events`];
        if (store) parts.push(`${requests} webhook requests`);
        if (tracker.dropped) parts.push(`${tracker.dropped} legs of no account (not followed)`);
        if (skipped) parts.push(`${skipped} lines skipped`);
        note(`replayed ${file}: ${parts.join(', ')}`);
      } finally {
        await store?.close();
      }
    });
}
