/**
 * After every (re)connect: brings the call legs callhook follows in line with what Asterisk
 * has now. If Asterisk restarted (a new startup_time in /ari/asterisk/info) every open leg is
 * over; then GET /ari/channels tells which legs vanished while callhook was not listening and
 * which live channels it never saw.
 */
import type { Logger } from 'pino';
import type { AriClient } from './client.js';
import type { CallTracker } from '../calls/tracker.js';
import type { Ingest } from '../events/ingest.js';
import type { Store } from '../store/store.js';

export interface ReconcileDeps {
  ari: Pick<AriClient, 'getInfo' | 'listChannels'>;
  tracker: CallTracker;
  ingest: Pick<Ingest, 'pushCallEvents'>;
  store: Pick<Store, 'getSetting' | 'setSetting'>;
  logger: Logger;
}

const STARTUP_KEY = 'asterisk_startup_time';

export async function reconcile(d: ReconcileDeps): Promise<void> {
  const since = Date.now();
  const info = await d.ari.getInfo();
  const startup = info.status?.startup_time;
  const asteriskId = info.system?.entity_id ?? '';
  d.logger.info({ version: info.system?.version, startup_time: startup }, 'Asterisk info');
  const previous = await d.store.getSetting(STARTUP_KEY);
  if (startup && previous && startup !== previous) {
    const ended = d.tracker.endAll(Date.now());
    d.logger.warn({ previous, startup, legs_ended: ended.filter((e) => e.hookEvent === 'channel_destroy').length }, 'Asterisk restarted; open legs ended');
    d.ingest.pushCallEvents(ended);
  }
  if (startup && startup !== previous) await d.store.setSetting(STARTUP_KEY, startup);
  const channels = await d.ari.listChannels();
  const events = d.tracker.reconcile(channels, since, Date.now(), asteriskId);
  if (events.length > 0) {
    d.logger.info(
      {
        live_channels: channels.length,
        destroyed: events.filter((e) => e.hookEvent === 'channel_destroy').length,
        created: events.filter((e) => e.hookEvent === 'channel_create').length,
      },
      'reconciled call legs with Asterisk',
    );
  }
  d.ingest.pushCallEvents(events);
}
