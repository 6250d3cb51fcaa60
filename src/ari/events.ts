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
  bridge_class?: string;
  name?: string;
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
  /** ChannelDtmfReceived */
  digit?: string;
  duration_ms?: number;
  /** BridgeBlindTransfer: the transferred channel, and where it goes */
  transferee?: AriChannel;
  exten?: string;
  context?: string;
  /** BridgeBlindTransfer / BridgeAttendedTransfer */
  result?: string;
  /** BridgeAttendedTransfer: the transferring phone's two legs, and the party it connects the transferee to */
  transferer_first_leg?: AriChannel;
  transferer_second_leg?: AriChannel;
  transfer_target?: AriChannel;
  /** TextMessageReceived */
  message?: AriMessage;
  [key: string]: unknown;
}

/** a SIP MESSAGE as ARI reports it (TextMessageReceived) */
export interface AriMessage {
  from: string;
  to: string;
  body: string;
  variables: Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** keys that must never reach a receiver (nor an object of ours, where they could change its prototype) */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isSafeKey(key: string): boolean {
  return !UNSAFE_KEYS.has(key);
}

/** a string as is, a finite number as its text; anything else is not a value of a string field */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/** sets `key` only when the value is defined, so a dropped field is absent rather than undefined */
function put<T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) o[key] = value;
}

/** an object of strings (e.g. channelvars): null prototype, no unsafe keys, non-string values dropped */
export function stringRecord(v: unknown): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (!isObject(v)) return out;
  for (const key of Object.keys(v)) {
    if (!isSafeKey(key)) continue;
    const value = text(v[key]);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** a copy of a JSON value without unsafe keys at any depth (fields callhook does not read itself) */
function safeJson(v: unknown, depth = 0): unknown {
  if (depth > 32) return undefined;
  if (Array.isArray(v)) return v.map((x) => safeJson(x, depth + 1));
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) if (isSafeKey(key)) out[key] = safeJson(v[key], depth + 1);
  return out;
}

function callerId(v: unknown): AriCallerId | undefined {
  if (!isObject(v)) return undefined;
  return { name: text(v.name) ?? '', number: text(v.number) ?? '' };
}

/**
 * An ARI channel snapshot with every field callhook reads of its documented type, or why it is
 * no channel. id, name and state must be strings and caller/connected objects; a leaf value of
 * the wrong type is dropped (a name or number becomes '').
 */
export function readChannel(v: unknown): AriChannel | string {
  if (!isObject(v) || typeof v.id !== 'string' || !v.id || typeof v.name !== 'string' || typeof v.state !== 'string') {
    return 'is not an ARI channel';
  }
  const caller = callerId(v.caller);
  const connected = callerId(v.connected);
  if (!caller || !connected) return 'without caller/connected';
  const ch: AriChannel = { id: v.id, name: v.name, state: v.state, caller, connected };
  put(ch, 'protocol_id', typeof v.protocol_id === 'string' ? v.protocol_id : undefined);
  put(ch, 'accountcode', text(v.accountcode));
  put(ch, 'tenantid', text(v.tenantid));
  put(ch, 'language', text(v.language));
  if (typeof v.creationtime === 'string' && !Number.isNaN(parseAriTime(v.creationtime))) ch.creationtime = v.creationtime;
  if (isObject(v.dialplan)) {
    const d = v.dialplan;
    const dialplan: NonNullable<AriChannel['dialplan']> = {};
    put(dialplan, 'context', text(d.context));
    put(dialplan, 'exten', text(d.exten));
    put(dialplan, 'priority', int(d.priority));
    put(dialplan, 'app_name', text(d.app_name));
    put(dialplan, 'app_data', text(d.app_data));
    ch.dialplan = dialplan;
  }
  if (v.channelvars !== undefined) ch.channelvars = stringRecord(v.channelvars);
  return ch;
}

/** events that went through sanitizeAriEvent (so the tracker does not check them twice) */
const CHECKED = new WeakSet<object>();

/**
 * Checks an ARI event and rebuilds it with every field callhook reads of its documented type
 * (see AriEvent); other fields are kept as JSON without __proto__/constructor/prototype keys.
 * Structure that is wrong (a channel that is none, a bridge without channels, a bad timestamp)
 * rejects the event with a reason; a leaf value of the wrong type is dropped.
 */
export function sanitizeAriEvent(data: unknown): { event: AriEvent } | { error: string } {
  if (typeof data === 'object' && data !== null && CHECKED.has(data)) return { event: data as AriEvent };
  if (!isObject(data) || typeof data.type !== 'string' || !data.type) return { error: 'frame has no event type' };
  const type = data.type;
  const ev = safeJson(data) as AriEvent;
  for (const key of ['channel', 'caller', 'peer', 'transferee', 'transferer_first_leg', 'transferer_second_leg', 'transfer_target'] as const) {
    if (data[key] === undefined) continue;
    const ch = readChannel(data[key]);
    if (typeof ch === 'string') return { error: `${type}: "${key}" ${ch}` };
    ev[key] = ch;
  }
  if (data.bridge !== undefined) {
    const b = data.bridge;
    if (!isObject(b) || !Array.isArray(b.channels)) return { error: `${type}: "bridge" is not an ARI bridge` };
    const bridge = safeJson(b) as AriBridge & Record<string, unknown>;
    bridge.id = text(b.id) ?? '';
    bridge.channels = b.channels.filter((c): c is string => typeof c === 'string');
    for (const key of ['bridge_type', 'bridge_class', 'name'] as const) {
      const value = text(b[key]);
      if (value === undefined) delete bridge[key];
      else bridge[key] = value;
    }
    ev.bridge = bridge;
  }
  if (data.timestamp !== undefined && (typeof data.timestamp !== 'string' || Number.isNaN(parseAriTime(data.timestamp)))) {
    return { error: `${type}: bad timestamp` };
  }
  if (data.message !== undefined) {
    const m = data.message;
    if (!isObject(m)) return { error: `${type}: "message" is not an ARI message` };
    ev.message = { from: text(m.from) ?? '', to: text(m.to) ?? '', body: text(m.body) ?? '', variables: stringRecord(m.variables) };
  }
  for (const key of [
    'asterisk_id',
    'application',
    'dialstatus',
    'dialstring',
    'cause_txt',
    'variable',
    'value',
    'digit',
    'exten',
    'context',
    'result',
  ] as const) {
    if (!(key in ev)) continue;
    const value = text(data[key]);
    if (value === undefined) delete ev[key];
    else ev[key] = value;
  }
  for (const key of ['cause', 'tech_cause', 'duration_ms'] as const) {
    if (!(key in ev)) continue;
    const value = int(data[key]);
    if (value === undefined) delete ev[key];
    else ev[key] = value;
  }
  if ('soft' in ev && typeof data.soft !== 'boolean') delete ev.soft;
  CHECKED.add(ev);
  return { event: ev };
}

/**
 * Checks that a websocket frame is an ARI event callhook can use. Returns the event (checked
 * by sanitizeAriEvent) or a reason it was rejected, so a bad frame is logged and skipped
 * instead of crashing anything.
 */
export function parseAriFrame(frame: string): { event: AriEvent } | { error: string } {
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    return { error: 'frame is not JSON' };
  }
  return sanitizeAriEvent(data);
}

/** ARI times look like 2026-11-24T14:45:50.037+0000 → unix milliseconds (NaN when unreadable). */
export function parseAriTime(value: string): number {
  const iso = value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  return Date.parse(iso);
}
