/**
 * Stable ids that sort by time: 32 hex digits, 12 of a time in milliseconds, then 20 of the
 * SHA-256 of what identifies the thing. The same thing always gets the same id (de-duplication);
 * and ids made in time order land at the end of the store's indexes. Random ids (a bare hash)
 * put every insert on a random page of each index, so storing an event cost more the more
 * events were kept.
 */
import { hash } from 'node:crypto';

function timeHex(ms: number): string {
  return (Number.isFinite(ms) && ms > 0 ? Math.floor(ms) : 0).toString(16).padStart(12, '0').slice(-12);
}

function digest(key: string): string {
  return hash('sha256', key, 'hex').slice(0, 20);
}

/** a call event's id: the time its leg was created, then a digest of the event's identity */
export function eventId(legCreatedMs: number, identity: string): string {
  return timeHex(legCreatedMs) + digest(identity);
}

/** a delivery's id: the same event to the same webhook is the same delivery everywhere */
export function deliveryId(event: string, webhookId: string): string {
  return event.slice(0, 12) + digest(`${event}|${webhookId}`);
}
