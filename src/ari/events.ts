/** The parts of the ARI event model callhook reads (Asterisk 22). */

export interface AriCallerId {
  name: string;
  number: string;
}

export interface AriChannel {
  id: string;
  name: string;
  state: string;
  protocol_id?: string;
  caller: AriCallerId;
  connected: AriCallerId;
  accountcode?: string;
  tenantid?: string;
  dialplan?: { context?: string; exten?: string; priority?: number; app_name?: string; app_data?: string };
  creationtime?: string;
  language?: string;
  channelvars?: Record<string, string>;
}

export interface AriBridge {
  id: string;
  channels: string[];
  bridge_type?: string;
}

export interface AriEvent {
  type: string;
  timestamp?: string;
  asterisk_id?: string;
  application?: string;
  channel?: AriChannel;
  /** Dial */
  caller?: AriChannel;
  peer?: AriChannel;
  dialstatus?: string;
  dialstring?: string;
  /** ChannelHangupRequest / ChannelDestroyed */
  cause?: number;
  cause_txt?: string;
  tech_cause?: number;
  soft?: boolean;
  bridge?: AriBridge;
  variable?: string;
  value?: string;
  [key: string]: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isChannel(v: unknown): v is AriChannel {
  return isObject(v) && typeof v.id === 'string' && typeof v.name === 'string' && typeof v.state === 'string';
}

/**
 * Checks that a websocket frame is an ARI event callhook can use. Returns the event or a
 * reason it was rejected, so a bad frame is logged and skipped instead of crashing anything.
 */
export function parseAriFrame(frame: string): { event: AriEvent } | { error: string } {
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    return { error: 'frame is not JSON' };
  }
  if (!isObject(data) || typeof data.type !== 'string') return { error: 'frame has no event type' };
  for (const key of ['channel', 'caller', 'peer'] as const) {
    if (key in data && data[key] !== undefined && !isChannel(data[key])) {
      return { error: `${data.type}: "${key}" is not an ARI channel` };
    }
  }
  const ch = data.channel as Record<string, unknown> | undefined;
  if (ch && (!isObject(ch.caller) || !isObject(ch.connected))) {
    return { error: `${data.type}: channel without caller/connected` };
  }
  if ('bridge' in data && (!isObject(data.bridge) || !Array.isArray((data.bridge as Record<string, unknown>).channels))) {
    return { error: `${data.type}: "bridge" is not an ARI bridge` };
  }
  if (data.timestamp !== undefined && (typeof data.timestamp !== 'string' || Number.isNaN(parseAriTime(data.timestamp)))) {
    return { error: `${data.type}: bad timestamp` };
  }
  return { event: data as AriEvent };
}

/** ARI times look like 2026-11-24T14:45:50.037+0000 → unix milliseconds (NaN when unreadable). */
export function parseAriTime(value: string): number {
  const iso = value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  return Date.parse(iso);
}
