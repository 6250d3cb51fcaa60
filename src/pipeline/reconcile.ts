/**
 * After every (re)connect: brings the call legs callhook follows in line with what Asterisk
 * has now. If Asterisk restarted (a new startup_time in /ari/asterisk/info) every open leg is
 * over; then GET /ari/channels tells which legs vanished while callhook was not listening and
 * which live channels it never saw, and GET /ari/bridges which legs were bridged meanwhile. Asterisk's answers are checked: an entry of the channel
 * list that is no ARI channel is logged and skipped (its id, if it has one, still counts as
 * live), and a list that is no list reconciles nothing.
 */
import type { Logger } from 'pino';
import type { AriClient, AsteriskInfo } from '../ari/client.js';
import { readChannel, type AriChannel } from '../ari/events.js';
import type { CallTracker } from '../calls/tracker.js';
import type { Ingest } from './ingest.js';
import type { Store } from '../store/store.js';

export interface ReconcileDeps {
  ari: Pick<AriClient, 'getInfo' | 'listChannels' | 'listBridges'>;
  tracker: CallTracker;
  ingest: Pick<Ingest, 'pushCallEvents'>;
  store: Pick<Store, 'getSetting' | 'setSetting'>;
  logger: Logger;
}

const STARTUP_KEY = 'asterisk_startup_time';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** the parts of /ari/asterisk/info callhook reads, each a string or absent */
function readInfo(v: unknown): { version?: string; entityId?: string; startup?: string } {
  const info = (isObject(v) ? v : {}) as AsteriskInfo & Record<string, unknown>;
  const system = isObject(info.system) ? info.system : {};
  const status = isObject(info.status) ? info.status : {};
  return { version: str(system.version), entityId: str(system.entity_id), startup: str(status.startup_time) };
}

export async function reconcile(d: ReconcileDeps): Promise<void> {
  const since = Date.now();
  const info = readInfo(await d.ari.getInfo());
  const startup = info.startup;
  const asteriskId = info.entityId ?? '';
  d.logger.info({ version: info.version, startup_time: startup }, 'Asterisk info');
  const previous = await d.store.getSetting(STARTUP_KEY);
  if (startup && previous && startup !== previous) {
    const ended = d.tracker.endAll(Date.now());
    d.logger.warn({ previous, startup, legs_ended: ended.filter((e) => e.hookEvent === 'channel_destroy').length }, 'Asterisk restarted; open legs ended');
    d.ingest.pushCallEvents(ended);
  }
  if (startup && startup !== previous) await d.store.setSetting(STARTUP_KEY, startup);
  const list = await d.ari.listChannels();
  if (!Array.isArray(list)) {
    d.logger.warn({ got: list === null ? 'null' : typeof list }, 'GET /ari/channels did not answer a list; call legs not reconciled');
    return;
  }
  const channels: AriChannel[] = [];
  const alsoLive: string[] = [];
  list.forEach((entry: unknown, index) => {
    const ch = readChannel(entry);
    if (typeof ch !== 'string') {
      channels.push(ch);
      return;
    }
    const id = isObject(entry) && typeof entry.id === 'string' ? entry.id : undefined;
    if (id) alsoLive.push(id);
    d.logger.warn({ index, id, reason: `the entry ${ch}` }, 'skipped a malformed channel in GET /ari/channels');
  });
  const events = d.tracker.reconcile(channels, since, Date.now(), asteriskId, alsoLive);
  if (events.length > 0) {
    d.logger.info(
      {
        live_channels: list.length,
        destroyed: events.filter((e) => e.hookEvent === 'channel_destroy').length,
        created: events.filter((e) => e.hookEvent === 'channel_create').length,
      },
      'reconciled call legs with Asterisk',
    );
  }
  d.ingest.pushCallEvents(events);
  // bridges that formed while callhook was not listening
  const bridges = await d.ari.listBridges();
  if (!Array.isArray(bridges)) {
    d.logger.warn({ got: bridges === null ? 'null' : typeof bridges }, 'GET /ari/bridges did not answer a list; bridges not reconciled');
    return;
  }
  const bridged = d.tracker.reconcileBridges(bridges, Date.now());
  if (bridged.length > 0) d.logger.info({ bridges: bridges.length, channel_bridge: bridged.length }, 'reconciled bridges with Asterisk');
  d.ingest.pushCallEvents(bridged);
}
