import type { AriChannel } from '../ari/events.js';

export type Direction = 'inbound' | 'outbound';

/**
 * Direction of a leg from the state it was created in: an endpoint calling the PBX creates a
 * channel in Ring/Ringing (inbound); a channel the PBX dials or originates starts Down
 * (outbound). A leg first seen mid-call (after a reconnect) is judged by what it runs.
 */
export function directionAtCreate(channel: AriChannel): Direction {
  return channel.state === 'Ring' || channel.state === 'Ringing' ? 'inbound' : 'outbound';
}

export function directionMidCall(channel: AriChannel): Direction {
  if (channel.state === 'Ring') return 'inbound';
  if (channel.state === 'Ringing' || channel.state === 'Down') return 'outbound';
  return channel.dialplan?.app_name === 'AppDial' ? 'outbound' : 'inbound';
}

/** Technology of a channel name: PJSIP/alice-00000002 → PJSIP */
export function techOf(name: string): string {
  const slash = name.indexOf('/');
  return slash > 0 ? name.slice(0, slash) : name;
}

/** Local/...;1 and ;2 are the two halves of an internal Local channel. */
export function isInternalLeg(name: string): boolean {
  return techOf(name) === 'Local';
}

/** SIP channels carry a Call-ID (protocol_id), filled from the event after ChannelCreated. */
export function hasSipCallId(name: string): boolean {
  const tech = techOf(name);
  return tech === 'PJSIP' || tech === 'SIP';
}
