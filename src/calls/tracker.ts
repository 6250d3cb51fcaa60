/**
 * Per-leg state machine: turns the ARI event stream into call events (channel_create,
 * channel_answer, channel_bridge, channel_destroy), following docs/api.md (what a receiver gets):
 * - channel_create waits until the leg's snapshot is complete (SIP Call-ID known; for a dialed
 *   leg, its Dial event filled the numbers), and is always the first event of a leg;
 * - channel_answer once, at the first state Up;
 * - channel_bridge when a two-party bridge joins two legs, once per pair;
 * - channel_destroy with the hangup cause recovered from HangupRequest/Dial when Asterisk
 *   reports 0, and the durations;
 * - a leg keeps the account it resolved to at its first event.
 * What it costs, whatever arrives:
 * - only a ChannelCreated (or a live channel found by reconcile) opens a leg; any other event
 *   for a channel callhook does not follow is ignored;
 * - a leg of no account is not kept: an inbound leg is judged at its ChannelCreated (the
 *   endpoint, DID, tenant and variables it is resolved by are all there), a dialed one once its
 *   snapshot is complete; from then on its events cost nothing;
 * - a leg is stored (takeChanges) only once its channel_create went out; legs still waiting for
 *   it are at most `maxPendingLegs`, the oldest beyond that are forgotten;
 * - every event goes through sanitizeAriEvent first: anything that is not an ARI event is
 *   ignored, fields of the wrong type are dropped, and no value of the wrong type reaches a leg.
 */
import { eventId } from '../shared/ids.js';
import type { AriChannel, AriEvent } from '../ari/events.js';
import { isSafeKey, parseAriTime, readChannel, sanitizeAriEvent } from '../ari/events.js';
import type { AccountDirectory } from './account.js';
import { directionAtCreate, directionMidCall, hasSipCallId, isInternalLeg, techOf, type Direction } from './direction.js';
import { resolveHangup } from './hangup.js';
import type { CallEvent, EventDetail, HangupView, HookEvent, LegChanges, LegView } from './types.js';

interface Leg {
  id: string;
  asteriskId: string;
  chan: AriChannel;
  direction: Direction;
  internal: boolean;
  createdMs: number;
  callId?: string;
  /** undefined = not resolved yet; null = resolved to no account */
  accountId?: string | null;
  created: boolean;
  answeredMs?: number;
  dialstring?: string;
  dialerId?: string;
  /** ;2 half of a Local channel: the id of its ;1 half */
  halfOf?: string;
  otherCallId?: string;
  bridgedWith: Set<string>;
  requestCause?: number;
  techCause?: number;
  dialStatus?: string;
  /** Asterisk's linkedid: from CHANNEL(linkedid) in the channel variables, else its dialer's (or its ;1 half's), else its own id */
  linkedId?: string;
  /** an outbound leg nobody dialed: an ARI (or AMI) originate, e.g. click-to-call */
  originated?: boolean;
  /** on hold now (a ChannelUnhold counts only after a ChannelHold) */
  held?: boolean;
  /** local time of the last event seen for this leg (not persisted) */
  seenAt: number;
}

/** what a restart needs of a leg; Sets become arrays */
type LegRecord = Omit<Leg, 'bridgedWith' | 'seenAt'> & { bridgedWith: string[] };

export interface TrackerOptions {
  accountVariable: string;
  /** legs kept while waiting for their channel_create (default 5000); beyond it the oldest are forgotten */
  maxPendingLegs?: number;
}

const DEFAULT_MAX_PENDING = 5000;
/** channel ids Asterisk reported destroyed, remembered so a channel list that raced them does not revive them */
const MAX_GONE = 10_000;

/** channels that are never call legs: the SIP MESSAGE queue channel lives forever and carries no call */
function isCallLeg(ch: AriChannel): boolean {
  return techOf(ch.name) !== 'Message';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** a channel Dial() created (dialplan app "AppDial") whose Dial event has not come yet */
function awaitsDial(leg: Leg): boolean {
  return leg.chan.dialplan?.app_name === 'AppDial' && leg.dialerId === undefined;
}

/** a plain copy of the channel variables: string values, no __proto__/constructor/prototype keys */
function plainVars(vars: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars ?? {})) if (isSafeKey(k) && typeof v === 'string') out[k] = v;
  return out;
}

/** the endpoint (or number) of a channel name: PJSIP/alice-00000001 → alice, PJSIP/15551234@carrier-00000002 → 15551234 */
function endpointOf(name: string): string {
  const resource = name.slice(name.indexOf('/') + 1).replace(/-[0-9a-f]+$/, '');
  return resource.split('@')[0]!;
}

/** "Carol" <sip:4930123456@127.0.0.1>, pjsip:15550001@127.0.0.1 → its display name and user */
export function sipUri(text: string): { name: string; user: string } {
  const name = /^\s*"([^"]*)"/.exec(text)?.[1] ?? '';
  const user = /(?:sips?|pjsip|tel):([^@;>\s]+)/i.exec(text)?.[1] ?? '';
  return { name, user: decodeURIComponent(user.replace(/%(?![0-9a-f]{2})/gi, '%25')) };
}

export class CallTracker {
  private readonly legs = new Map<string, Leg>();
  private readonly dirty = new Set<string>();
  private readonly ended = new Set<string>();
  /** legs that were handed to the store (their end must delete them there) */
  private readonly stored = new Set<string>();
  /** legs waiting for their channel_create, oldest first */
  private readonly pending = new Set<string>();
  /** channels Asterisk reported destroyed, oldest first (at most MAX_GONE) */
  private readonly gone = new Set<string>();
  /** call legs dropped because they resolved to no account (their events are not followed) */
  dropped = 0;
  /** legs forgotten while waiting for their channel_create, because more than maxPendingLegs waited */
  evicted = 0;

  constructor(
    private readonly accounts: AccountDirectory,
    private readonly opts: TrackerOptions,
  ) {}

  get openLegs(): number {
    return this.legs.size;
  }

  /** of the open legs, those still waiting for their channel_create */
  get pendingLegs(): number {
    return this.pending.size;
  }

  /** Follows one ARI event (of any shape: what is not an ARI event is ignored); never throws on input. */
  handle(raw: AriEvent | unknown): CallEvent[] {
    const checked = sanitizeAriEvent(raw);
    if ('error' in checked) return [];
    const ev = checked.event;
    const out: CallEvent[] = [];
    const ts = (ev.timestamp && parseAriTime(ev.timestamp)) || Date.now();
    switch (ev.type) {
      case 'ChannelCreated':
        this.onCreated(ev, ts, out);
        return out;
      case 'Dial':
        this.onDial(ev, ts, out);
        break;
      case 'ChannelEnteredBridge':
        this.onBridge(ev, ts, out);
        break;
      case 'ChannelDestroyed':
        if (ev.channel) this.noteGone(ev.channel.id);
        break;
      case 'BridgeBlindTransfer':
      case 'BridgeAttendedTransfer':
        this.onTransfer(ev, ts, out);
        break;
      case 'TextMessageReceived':
        this.onMessage(ev, ts, out);
        return out;
      default:
        break;
    }
    const ch = ev.channel;
    if (!ch) return out;
    // only a ChannelCreated (or reconcile) opens a leg: anything else of a channel not followed is ignored
    const leg = this.legs.get(ch.id);
    if (!leg) return out;
    leg.chan = ch;
    leg.seenAt = Date.now();
    switch (ev.type) {
      case 'ChannelStateChange':
        // a leg that Dial() calls waits for its Dial event, which names the caller (Asterisk may
        // publish the phone's Ringing first); an answer cannot wait
        if (ch.state === 'Up' || !awaitsDial(leg)) this.ensureCreate(leg, ev, ts, out, true);
        if (ch.state === 'Up' && leg.answeredMs === undefined) {
          leg.answeredMs = ts;
          this.emit(leg, 'channel_answer', ev, ts, out);
        }
        break;
      case 'ChannelHangupRequest':
        if (ev.cause) leg.requestCause = ev.cause;
        if (ev.tech_cause) leg.techCause = ev.tech_cause;
        this.dirty.add(leg.id);
        this.ensureCreate(leg, ev, ts, out, false);
        break;
      case 'ChannelDestroyed':
        this.onDestroyed(leg, ev, ts, out);
        break;
      case 'ChannelHold':
        this.ensureCreate(leg, ev, ts, out, true);
        leg.held = true;
        this.emit(
          leg,
          'channel_hold',
          ev,
          ts,
          out,
          ev.timestamp ?? String(ts),
          undefined,
          typeof ev.musicclass === 'string' && ev.musicclass ? { music_class: ev.musicclass } : undefined,
        );
        break;
      case 'ChannelUnhold':
        this.ensureCreate(leg, ev, ts, out, true);
        if (!leg.held) break;
        leg.held = false;
        this.emit(leg, 'channel_unhold', ev, ts, out, ev.timestamp ?? String(ts));
        break;
      case 'ChannelDtmfReceived':
        this.ensureCreate(leg, ev, ts, out, true);
        if (!ev.digit) break;
        this.emit(leg, 'dtmf', ev, ts, out, `${ev.timestamp ?? ts}|${ev.digit}`, undefined, { dtmf_digit: ev.digit, dtmf_duration_ms: ev.duration_ms ?? 0 });
        break;
      default:
        this.ensureCreate(leg, ev, ts, out, false);
    }
    return out;
  }

  private onCreated(ev: AriEvent, ts: number, out: CallEvent[]): void {
    const ch = ev.channel;
    if (!ch || this.legs.has(ch.id) || !isCallLeg(ch)) return;
    const leg = this.newLeg(ev, ch, ts, true);
    // the ;2 half of a Local channel belongs to whoever dialed its ;1 half: it takes that
    // account, and its create waits for the ;1 half's (which waits for its Dial)
    if (leg.internal && ch.name.endsWith(';2')) {
      const half = ch.name.slice(0, -1) + '1';
      for (const other of this.legs.values()) if (other.chan.name === half) leg.dialerId = leg.halfOf = other.id;
    }
    const half = leg.halfOf ? this.legs.get(leg.halfOf) : undefined;
    leg.linkedId = ch.channelvars?.['CHANNEL(linkedid)'] || half?.linkedId || leg.id;
    leg.originated = leg.direction === 'outbound' && !leg.halfOf && ch.dialplan?.app_name !== 'AppDial';
    // a leg calling in carries all its account is resolved by (endpoint accountcode, DID,
    // tenant, variables set on the endpoint) from its creation: of no account, it is not kept
    if (leg.direction === 'inbound' && !leg.halfOf && this.accountOf(leg) === null) {
      this.dropped += 1;
      return;
    }
    this.legs.set(leg.id, leg);
    this.pending.add(leg.id);
    this.trimPending();
    // a snapshot that already carries the SIP Call-ID is complete
    if (leg.direction === 'inbound' && ch.protocol_id) this.ensureCreate(leg, ev, ts, out, false);
  }

  /** more legs than maxPendingLegs wait for their channel_create: the oldest are forgotten */
  private trimPending(): void {
    const max = this.opts.maxPendingLegs ?? DEFAULT_MAX_PENDING;
    for (const id of this.pending) {
      if (this.pending.size <= max) break;
      this.pending.delete(id);
      const leg = this.legs.get(id);
      if (leg && !leg.created) {
        this.forget(leg);
        this.evicted += 1;
      }
    }
  }

  private noteGone(id: string): void {
    this.gone.delete(id);
    this.gone.add(id);
    if (this.gone.size > MAX_GONE)
      for (const old of this.gone) {
        this.gone.delete(old);
        break;
      }
  }

  /** the leg is no longer followed: out of memory, and out of the store if it was written there */
  private forget(leg: Leg): void {
    if (this.legs.get(leg.id) !== leg) return;
    this.legs.delete(leg.id);
    this.dirty.delete(leg.id);
    this.pending.delete(leg.id);
    if (this.stored.delete(leg.id)) this.ended.add(leg.id);
  }

  /** legs changed or ended since the last call, for the store */
  takeChanges(): LegChanges {
    const upserts = [...this.dirty].flatMap((id) => {
      const leg = this.legs.get(id);
      // a leg is worth storing once its channel_create went out to an account
      if (!leg || !leg.created || typeof leg.accountId !== 'string') return [];
      this.stored.add(id);
      const { seenAt: _seen, bridgedWith, ...rest } = leg;
      const record: LegRecord = { ...rest, bridgedWith: [...bridgedWith] };
      return [{ id, state: JSON.stringify(record) }];
    });
    const deletes = [...this.ended];
    this.dirty.clear();
    this.ended.clear();
    return { upserts, deletes };
  }

  /** changes whose write failed: the next takeChanges holds them again (as the legs are then) */
  giveBack(changes: LegChanges): void {
    for (const u of changes.upserts) if (this.legs.has(u.id)) this.dirty.add(u.id);
    for (const id of changes.deletes) if (!this.legs.has(id)) this.ended.add(id);
  }

  /** takes back the open legs of a previous run */
  restore(stored: { id: string; state: string }[]): void {
    for (const s of stored) {
      let r: unknown;
      try {
        r = JSON.parse(s.state);
      } catch {
        r = undefined;
      }
      const chan = isObject(r) ? readChannel(r.chan) : 'unreadable';
      // unreadable, or of no account (an older callhook stored those): forget it
      if (!isObject(r) || typeof chan === 'string' || r.accountId === null) {
        this.ended.add(s.id);
        continue;
      }
      const record = r as unknown as LegRecord;
      const bridged = Array.isArray(record.bridgedWith) ? record.bridgedWith.filter((x) => typeof x === 'string') : [];
      this.legs.set(s.id, { ...record, id: s.id, chan, bridgedWith: new Set(bridged), seenAt: 0 });
      this.stored.add(s.id);
      if (!record.created) this.pending.add(s.id);
    }
  }

  /**
   * After (re)connecting: legs Asterisk no longer has get their channel_destroy (marked
   * reconciled), live channels never seen get their channel_create (and channel_answer if
   * up). Legs seen after `since` are left alone: their events raced the channel list.
   */
  reconcile(channels: AriChannel[], since: number, now: number, asteriskId = '', alsoLive: Iterable<string> = []): CallEvent[] {
    const out: CallEvent[] = [];
    const live = new Set(alsoLive);
    const valid: AriChannel[] = [];
    for (const c of Array.isArray(channels) ? (channels as unknown[]) : []) {
      if (isObject(c) && typeof c.id === 'string') live.add(c.id);
      const ch = readChannel(c);
      if (typeof ch !== 'string') valid.push(ch);
    }
    for (const leg of [...this.legs.values()]) {
      if (!live.has(leg.id) && leg.seenAt < since) this.vanish(leg, now, out);
    }
    for (const ch of valid) {
      // a channel whose ChannelDestroyed came in while the list was on its way is over
      if (this.legs.has(ch.id) || this.gone.has(ch.id) || !isCallLeg(ch)) continue;
      const ev: AriEvent = { type: 'ChannelReconciled', asterisk_id: asteriskId, channel: ch };
      const leg = this.adopt(ev, ch, now);
      this.ensureCreate(leg, ev, now, out, true);
      if (leg.answeredMs !== undefined) this.emit(leg, 'channel_answer', ev, now, out);
    }
    return out;
  }

  /** Asterisk restarted: every open leg is gone */
  endAll(now: number): CallEvent[] {
    const out: CallEvent[] = [];
    for (const leg of [...this.legs.values()]) this.vanish(leg, now, out);
    return out;
  }

  private vanish(leg: Leg, now: number, out: CallEvent[]): void {
    this.onDestroyed(leg, { type: 'ChannelReconciled', asterisk_id: leg.asteriskId, channel: leg.chan }, now, out, true);
  }

  private newLeg(ev: AriEvent, ch: AriChannel, ts: number, atCreate: boolean): Leg {
    return {
      id: ch.id,
      asteriskId: ev.asterisk_id ?? '',
      chan: ch,
      direction: atCreate ? directionAtCreate(ch) : directionMidCall(ch),
      internal: isInternalLeg(ch.name),
      createdMs: (ch.creationtime && parseAriTime(ch.creationtime)) || ts,
      created: false,
      bridgedWith: new Set(),
      seenAt: Date.now(),
    };
  }

  /** A leg first seen after ChannelCreated (callhook started or reconnected mid-call). */
  private adopt(ev: AriEvent, ch: AriChannel, ts: number): Leg {
    const leg = this.newLeg(ev, ch, ts, false);
    if (ch.state === 'Up') leg.answeredMs = ts;
    this.legs.set(ch.id, leg);
    this.dirty.add(leg.id);
    return leg;
  }

  private onDial(ev: AriEvent, ts: number, out: CallEvent[]): void {
    const peerSnap = ev.peer;
    if (!peerSnap) return;
    // a Dial opens no leg: the peer's ChannelCreated came before it
    const peer = this.legs.get(peerSnap.id);
    if (peer) {
      peer.chan = peerSnap;
      peer.seenAt = Date.now();
      this.dirty.add(peer.id);
    }
    const caller = ev.caller ? this.legs.get(ev.caller.id) : undefined;
    if (caller) this.dirty.add(caller.id);
    if (!ev.dialstatus) {
      if (!peer) return;
      if (ev.dialstring) peer.dialstring = ev.dialstring;
      if (ev.caller) {
        peer.dialerId = ev.caller.id;
        peer.originated = false;
        if (!peer.chan.channelvars?.['CHANNEL(linkedid)']) peer.linkedId = caller?.linkedId ?? ev.caller.id;
        peer.otherCallId ??= caller?.callId ?? (ev.caller.protocol_id || ev.caller.id);
      }
      this.ensureCreate(peer, ev, ts, out, true);
      return;
    }
    if (ev.dialstatus === 'RINGING' || ev.dialstatus === 'PROGRESS' || ev.dialstatus === 'PROCEEDING') return;
    if (peer) peer.dialStatus = ev.dialstatus;
    if (caller) {
      caller.dialStatus = ev.dialstatus;
      if (ev.dialstatus === 'ANSWER') {
        caller.otherCallId = peer ? this.callIdOf(peer) : peerSnap.protocol_id || peerSnap.id;
        if (peer) peer.otherCallId = this.callIdOf(caller);
      }
    }
  }

  private onBridge(ev: AriEvent, ts: number, out: CallEvent[], reconciled = false): void {
    const members = ev.bridge?.channels ?? [];
    if (members.length !== 2 || members[0] === members[1]) return;
    const legs = members.map((id) => this.legs.get(id));
    const entering = ev.channel ? this.legs.get(ev.channel.id) : undefined;
    if (entering && ev.channel && members.includes(entering.id)) entering.chan = ev.channel;
    for (const i of [0, 1]) {
      const leg = legs[i];
      const otherId = members[1 - i]!;
      if (!leg || leg.bridgedWith.has(otherId)) continue;
      const other = legs[1 - i];
      leg.bridgedWith.add(otherId);
      // a peer callhook does not follow (of no account) is still named, as its Dial named it
      leg.otherCallId = other ? this.callIdOf(other) : ev.channel?.id === otherId ? ev.channel.protocol_id || otherId : (leg.otherCallId ?? otherId);
      this.ensureCreate(leg, ev, ts, out, true);
      this.emit(leg, 'channel_bridge', ev, ts, out, otherId, undefined, reconciled ? { reconciled: true } : undefined);
    }
  }

  /**
   * After (re)connecting, with GET /ari/bridges: two followed legs in one two-party bridge that
   * callhook did not see them enter (it was not listening) get their channel_bridge, marked
   * reconciled, and name each other in other_leg_call_id. Run after reconcile().
   */
  reconcileBridges(bridges: unknown, now: number): CallEvent[] {
    const out: CallEvent[] = [];
    for (const b of Array.isArray(bridges) ? (bridges as unknown[]) : []) {
      if (!isObject(b) || !Array.isArray(b.channels)) continue;
      const channels = b.channels.filter((c): c is string => typeof c === 'string');
      const bridge = { id: typeof b.id === 'string' ? b.id : '', channels };
      this.onBridge({ type: 'BridgeReconciled', bridge }, now, out, true);
    }
    return out;
  }

  /**
   * A transfer (BridgeBlindTransfer: `channel` transfers `transferee` to `exten`;
   * BridgeAttendedTransfer: `transferer_first_leg` connects `transferee` to `transfer_target`):
   * each followed leg in it gets a channel_transfer. Who has the call afterwards follows from
   * the bridge the transferee then enters (its channel_bridge and other_leg_call_id).
   */
  private onTransfer(ev: AriEvent, ts: number, out: CallEvent[]): void {
    const attended = ev.type === 'BridgeAttendedTransfer';
    const transferor = attended ? ev.transferer_first_leg : ev.channel;
    const transferee = ev.transferee;
    const target = attended ? ev.transfer_target : undefined;
    const callId = (ch: AriChannel | undefined) => {
      const leg = ch && this.legs.get(ch.id);
      return leg ? this.callIdOf(leg) : ch?.protocol_id || ch?.id || '';
    };
    const to = attended ? target?.caller.number || ev.transferer_second_leg?.connected.number || '' : (ev.exten ?? '');
    const detail: EventDetail = {
      transfer_type: attended ? 'attended' : 'blind',
      transferor_call_id: callId(transferor),
      transferee_call_id: callId(transferee),
      transfer_to: to,
      transfer_result: ev.result ?? '',
      ...(target ? { transfer_target_call_id: callId(target) } : {}),
    };
    const seen = new Set<string>();
    for (const ch of [transferee, transferor, target]) {
      const leg = ch && this.legs.get(ch.id);
      if (!leg || seen.has(leg.id)) continue;
      seen.add(leg.id);
      leg.chan = ch;
      leg.seenAt = Date.now();
      this.ensureCreate(leg, ev, ts, out, true);
      this.emit(leg, 'channel_transfer', ev, ts, out, ev.timestamp ?? String(ts), undefined, detail);
    }
  }

  /** A SIP MESSAGE the PBX received (TextMessageReceived): an sms event of the account whose number it was sent to. */
  private onMessage(ev: AriEvent, ts: number, out: CallEvent[]): void {
    const m = ev.message;
    if (!m) return;
    const from = sipUri(m.from);
    const to = sipUri(m.to);
    const accountId = this.accounts.resolve({ dialed: to.user || undefined });
    if (!accountId) {
      this.dropped += 1;
      return;
    }
    const callId = m.variables['Call-ID'] || `${from.user}>${to.user}@${ts}`;
    const date = new Date(ts).toISOString().replace('T', ' ').slice(0, 19);
    out.push({
      hookEvent: 'sms',
      eventId: eventId(ts, `${ev.asterisk_id ?? ''}|message|${callId}|${m.variables.CSeq ?? ''}`),
      timestampMs: ts,
      accountId,
      leg: {
        channelId: '',
        callId,
        otherLegCallId: undefined,
        direction: 'inbound',
        isInternal: false,
        callerIdName: from.name,
        callerIdNumber: from.user,
        calleeIdName: to.name,
        calleeIdNumber: to.user,
        fromNumber: from.user,
        toNumber: to.user,
        channelVars: {},
        linkedId: callId,
      },
      detail: { body: m.body, address: from.user, date },
    });
  }

  private onDestroyed(leg: Leg, ev: AriEvent, ts: number, out: CallEvent[], reconciled = false): void {
    this.ensureCreate(leg, ev, ts, out, true);
    const hangup = resolveHangup({
      destroyedCause: ev.cause,
      requestCause: leg.requestCause,
      techCause: ev.tech_cause || leg.techCause,
      dialStatus: leg.dialStatus,
      answered: leg.answeredMs !== undefined,
      inbound: leg.direction === 'inbound',
    });
    const end = Math.max(ts, leg.createdMs);
    const duration = Math.round((end - leg.createdMs) / 1000);
    const billing = leg.answeredMs === undefined ? 0 : Math.min(duration, Math.round((end - leg.answeredMs) / 1000));
    this.emit(leg, 'channel_destroy', ev, ts, out, '', {
      ...(reconciled ? { reconciled } : {}),
      cause: hangup.cause,
      code: hangup.code,
      durationSeconds: duration,
      ringingSeconds: duration - billing,
      billingSeconds: billing,
    });
    this.noteGone(leg.id);
    this.forget(leg);
  }

  /**
   * Emits channel_create once the leg's snapshot is complete: an inbound SIP leg when its
   * Call-ID is known, a dialed leg at its Dial event or first state change. `force` is set by
   * events that must not go out before the create (answer, bridge, destroy, Dial).
   */
  private ensureCreate(leg: Leg, ev: AriEvent, ts: number, out: CallEvent[], force: boolean): void {
    if (leg.created) return;
    const half = leg.halfOf ? this.legs.get(leg.halfOf) : undefined;
    const ready = force || (leg.direction === 'inbound' && (Boolean(leg.chan.protocol_id) || !hasSipCallId(leg.chan.name)) && (!half || half.created));
    if (!ready) return;
    leg.created = true;
    this.pending.delete(leg.id);
    leg.callId = leg.chan.protocol_id || leg.id;
    this.emit(leg, 'channel_create', ev, ts, out);
    if (!leg.internal) return;
    for (const other of this.legs.values()) {
      if (other.halfOf === leg.id) this.ensureCreate(other, ev, ts, out, false);
    }
  }

  private callIdOf(leg: Leg): string {
    return leg.callId ?? (leg.chan.protocol_id || leg.id);
  }

  private accountOf(leg: Leg): string | null {
    if (leg.accountId !== undefined) return leg.accountId;
    const ch = leg.chan;
    const dialer = leg.dialerId ? this.legs.get(leg.dialerId) : undefined;
    leg.accountId = null; // guards against a dialer cycle while resolving
    leg.accountId =
      this.accounts.resolve({
        variable: ch.channelvars?.[this.opts.accountVariable],
        tenantId: ch.tenantid,
        dialerAccount: dialer ? (this.accountOf(dialer) ?? undefined) : undefined,
        dialed: leg.direction === 'inbound' ? ch.dialplan?.exten : undefined,
        accountcode: ch.accountcode,
      }) ?? null;
    return leg.accountId;
  }

  private emit(
    leg: Leg,
    hookEvent: HookEvent,
    ev: AriEvent,
    ts: number,
    out: CallEvent[],
    discriminator = '',
    hangup?: HangupView,
    detail?: EventDetail,
  ): void {
    const accountId = this.accountOf(leg);
    if (!accountId) {
      // of no account: not followed any further, not stored
      if (this.legs.get(leg.id) === leg) {
        this.dropped += 1;
        this.forget(leg);
      }
      return;
    }
    this.dirty.add(leg.id);
    const id = eventId(leg.createdMs, `${leg.asteriskId || ev.asterisk_id || ''}|${leg.id}|${hookEvent}|${discriminator}`);
    out.push({ hookEvent, eventId: id, timestampMs: ts, accountId, leg: this.view(leg, hangup), ...(detail ? { detail } : {}) });
  }

  private view(leg: Leg, hangup: HangupView | undefined): LegView {
    const ch = leg.chan;
    const inbound = leg.direction === 'inbound';
    // On a dialed leg Asterisk's `caller` is the party this leg calls, `connected` the caller.
    // An originated leg has no Dial: its `caller` is the caller id the originate set, and the
    // party it calls is its endpoint (PJSIP/alice-00000001 → alice).
    const calling = inbound || leg.originated ? ch.caller : ch.connected;
    const called = inbound ? ch.connected : leg.originated ? { name: '', number: endpointOf(ch.name) } : ch.caller;
    const dialedUser = leg.dialstring ? leg.dialstring.split('@')[0]!.split('/').pop()! : '';
    const toNumber = inbound ? (ch.dialplan?.exten ?? '') : called.number || dialedUser;
    return {
      channelId: leg.id,
      callId: this.callIdOf(leg),
      otherLegCallId: leg.otherCallId,
      direction: leg.direction,
      isInternal: leg.internal,
      callerIdName: calling.name,
      callerIdNumber: calling.number,
      calleeIdName: called.name,
      calleeIdNumber: called.number || (inbound ? '' : dialedUser),
      fromNumber: calling.number,
      toNumber,
      channelVars: plainVars(ch.channelvars),
      linkedId: leg.linkedId ?? leg.id,
      ...(hangup ? { hangup } : {}),
    };
  }
}
