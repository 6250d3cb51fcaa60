/** Seconds from 0000-01-01 (proleptic Gregorian) to the unix epoch, as Kazoo counts time. */
export const GREGORIAN_OFFSET = 62167219200;

export function toGregorianSeconds(unixMs: number): number {
  return Math.floor(unixMs / 1000) + GREGORIAN_OFFSET;
}

export function fromGregorianSeconds(gregorian: number): number {
  return (gregorian - GREGORIAN_OFFSET) * 1000;
}
