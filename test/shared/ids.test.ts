import { describe, expect, it } from 'vitest';
import { deliveryId, eventId } from '../../src/shared/ids.js';

describe('event and delivery ids', () => {
  const created = Date.parse('2026-11-24T14:45:56.486Z');

  it('are 32 hex digits, the same for the same thing and different for different things', () => {
    const id = eventId(created, 'pbx|1795531556.1|channel_create|');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(eventId(created, 'pbx|1795531556.1|channel_create|')).toBe(id);
    expect(eventId(created, 'pbx|1795531556.1|channel_answer|')).not.toBe(id);
    expect(deliveryId(id, 'h1')).toMatch(/^[0-9a-f]{32}$/);
    expect(deliveryId(id, 'h1')).toBe(deliveryId(id, 'h1'));
    expect(deliveryId(id, 'h2')).not.toBe(deliveryId(id, 'h1'));
  });

  it('sort in the order of the legs’ creation, and a delivery sorts with its event', () => {
    const ids = [0, 1, 999, 60_000, 86_400_000].map((d, i) => eventId(created + d, `pbx|leg${5 - i}|channel_create|`));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]!.slice(0, 12)).toBe(created.toString(16).padStart(12, '0'));
    const deliveries = ids.map((id) => deliveryId(id, 'h1'));
    expect([...deliveries].sort()).toEqual(deliveries);
    expect(deliveries.map((d) => d.slice(0, 12))).toEqual(ids.map((id) => id.slice(0, 12)));
  });

  it('take a time that is not one as 0 and stay 32 hex digits', () => {
    for (const bad of [Number.NaN, -5, Number.POSITIVE_INFINITY]) {
      expect(eventId(bad, 'x')).toMatch(/^0{12}[0-9a-f]{20}$/);
    }
  });
});
