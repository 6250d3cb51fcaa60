/**
 * Ids and page keys that reveal nothing across accounts. The store counts attempts and
 * deliveries with one sequence for everyone; shown as is, an attempt id or a page key would
 * tell one tenant how busy the others are. The API shows each such number encrypted (one AES
 * block: the number and a tag of the account), so that it reads as random, is the same every
 * time it is shown, and a page key of one account is refused by another.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

export class OpaqueIds {
  private readonly key: Buffer;

  /** `secret`: the same for every process sharing a store (they share CALLHOOK_ADMIN_TOKEN) */
  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('callhook opaque ids').digest().subarray(0, 16);
  }

  private tag(scope: string): Buffer {
    return createHmac('sha256', this.key).update(scope).digest().subarray(0, 8);
  }

  encode(scope: string, n: number): string {
    const block = Buffer.alloc(16);
    block.writeBigUInt64BE(BigInt(n), 0);
    this.tag(scope).copy(block, 8);
    const c = createCipheriv('aes-128-ecb', this.key, null).setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]).toString('base64url');
  }

  /** the number behind a key this account was given, else undefined */
  decode(scope: string, text: string): number | undefined {
    if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return undefined;
    const d = createDecipheriv('aes-128-ecb', this.key, null).setAutoPadding(false);
    const block = Buffer.concat([d.update(Buffer.from(text, 'base64url')), d.final()]);
    if (!block.subarray(8).equals(this.tag(scope))) return undefined;
    const n = block.readBigUInt64BE(0);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
  }
}
