/** Which webhooks want a call event. */
import type { CallEvent, HookEvent } from '../calls/types.js';
import type { HookType, Webhook } from './model.js';

function filterMatches(filter: string, numbers: string[]): boolean {
  const digits = (s: string) => s.replace(/^\+/, '');
  if (!/[*?]/.test(filter)) {
    const want = digits(filter);
    return numbers.some((n) => n !== '' && digits(n) === want);
  }
  const re = new RegExp(
    '^' +
      digits(filter)
        .replace(/[.+^${}()|[\]\\#@-]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  return numbers.some((n) => n !== '' && re.test(digits(n)));
}

/** seven.io's event types, as groups of callhook's */
const GROUPS: Partial<Record<HookType, readonly HookEvent[]>> = {
  voice_status: ['channel_answer', 'channel_bridge', 'channel_transfer', 'channel_destroy'],
  voice_dtmf: ['dtmf'],
  sms_mo: ['sms'],
};

/** whether a hook type takes an event: its own, all (never notifications), or the events of a seven.io group */
export function typeWants(type: HookType, ev: Pick<CallEvent, 'hookEvent' | 'leg'>): boolean {
  if (type === 'all' || type === ev.hookEvent) return true;
  if (type === 'voice_call') return ev.hookEvent === 'channel_create' && ev.leg.direction === 'inbound';
  return GROUPS[type]?.includes(ev.hookEvent) ?? false;
}

/**
 * Of the webhooks that collect events (the store's activeWebhooks), a hook wants an event when
 * its type matches (or is `all`), it belongs to the event's account (or to an ancestor with
 * include_subaccounts), internal legs are wanted, and its event_filter matches the calling or
 * called number.
 */
export function hookWants(hook: Webhook, ev: CallEvent): boolean {
  if (!typeWants(hook.hook, ev)) return false;
  if (hook.account_id !== ev.accountId && !hook.include_subaccounts) return false;
  if (ev.leg.isInternal && !hook.include_internal_legs) return false;
  if (hook.event_filter && !filterMatches(hook.event_filter, [ev.leg.fromNumber, ev.leg.toNumber])) return false;
  return true;
}
