/**
 * Which account a call leg belongs to. Accounts are few and change rarely, so the directory
 * keeps them in memory (reloaded whenever the API changes one) and resolution never touches
 * the store on the event path.
 */
export interface AccountEntry {
  id: string;
  realm: string | null;
  parent_id: string | null;
  numbers: string[];
  accountcodes: string[];
}

export interface LegAccountFacts {
  /** value of the configured account channel variable */
  variable?: string | undefined;
  tenantId?: string | undefined;
  /** account of the leg that dialed this one */
  dialerAccount?: string | undefined;
  /** the number this leg called (inbound: the DID) */
  dialed?: string | undefined;
  accountcode?: string | undefined;
}

/** DIDs compare by their digits: "+1 (555) 000-1" equals "15550001". */
export function normalizeNumber(n: string): string {
  const digits = n.replace(/\D/g, '');
  return digits || n.trim().toLowerCase();
}

export class AccountDirectory {
  private byId = new Map<string, AccountEntry>();
  private byNumber = new Map<string, string>();
  private byCode = new Map<string, string>();

  constructor(private readonly defaultAccount?: string) {}

  load(accounts: AccountEntry[]): void {
    this.byId = new Map(accounts.map((a) => [a.id, a]));
    this.byNumber = new Map();
    this.byCode = new Map();
    for (const a of accounts) {
      for (const n of a.numbers) this.byNumber.set(normalizeNumber(n), a.id);
      for (const c of a.accountcodes) this.byCode.set(c, a.id);
    }
  }

  get(id: string): AccountEntry | undefined {
    return this.byId.get(id);
  }

  /** the account that lists this DID */
  numberOwner(n: string): string | undefined {
    return this.byNumber.get(normalizeNumber(n));
  }

  /** the account that lists this accountcode */
  codeOwner(code: string): string | undefined {
    return this.byCode.get(code);
  }

  /** First match wins: channel variable, tenantid, dialing leg, DID owner, accountcode, default. */
  resolve(f: LegAccountFacts): string | undefined {
    const known = (id: string | undefined) => (id && this.byId.has(id) ? id : undefined);
    return (
      known(f.variable) ??
      known(f.tenantId) ??
      known(f.dialerAccount) ??
      (f.dialed ? this.numberOwner(f.dialed) : undefined) ??
      (f.accountcode ? (this.codeOwner(f.accountcode) ?? known(f.accountcode)) : undefined) ??
      known(this.defaultAccount)
    );
  }

  /** The account and its ancestors, nearest first (for hooks with include_subaccounts). */
  lineage(id: string): string[] {
    const out: string[] = [];
    let cur = this.byId.get(id);
    while (cur && !out.includes(cur.id)) {
      out.push(cur.id);
      cur = cur.parent_id ? this.byId.get(cur.parent_id) : undefined;
    }
    return out;
  }
}
