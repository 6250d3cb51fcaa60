/** The real test PBX (asterisk/pbx.sh) and sipp, for the e2e suite. */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PBX = new URL('../../asterisk/pbx.sh', import.meta.url).pathname;
const SIPP_DIR = new URL('../../asterisk/sipp/', import.meta.url).pathname;
const ROOT = process.env.CALLHOOK_PBX_ROOT ?? '/var/cache/callhook/pbx-root';
export const ARI_URL = 'http://127.0.0.1:8088';

export interface PbxState {
  ok: boolean;
  /** we started it, so we stop it */
  started: boolean;
  reason: string;
}

async function pbx(cmd: string): Promise<void> {
  await run('bash', [PBX, cmd], { timeout: 600_000 });
}

/** Uses a running PBX, or starts the provisioned one. Never provisions (that needs the network). */
export async function ensurePbx(): Promise<PbxState> {
  try {
    await pbx('status');
    return { ok: true, started: false, reason: '' };
  } catch {
    // not running
  }
  if (!existsSync(`${ROOT}/.callhook-ready`)) {
    return {
      ok: false,
      started: false,
      reason: `no test PBX at ${ROOT}: run \`sudo bash asterisk/pbx.sh start\` once (builds Debian sid + Asterisk 22 in a chroot), then \`npm test\``,
    };
  }
  try {
    await pbx('start');
    return { ok: true, started: true, reason: '' };
  } catch (err) {
    return { ok: false, started: false, reason: `the test PBX did not start: ${(err as Error).message.split('\n')[0]}` };
  }
}

export async function stopPbx(): Promise<void> {
  await pbx('stop');
}

/** Asterisk dies at once (SIGKILL): no hangup reaches ARI */
export async function crashPbx(): Promise<void> {
  await run('pkill', ['-9', '-f', '/usr/sbin/asterisk -C /etc/asterisk.callhook']).catch(() => undefined);
}

export async function startPbx(): Promise<void> {
  await pbx('start');
}

/** ends every sipp of the suite (calls that lost their PBX would wait for their timeout) */
export async function killSipp(): Promise<void> {
  await run('pkill', ['-f', `sipp.*${SIPP_DIR}`]).catch(() => undefined);
}

/** hangs up every call on the PBX, such as those an interrupted earlier run left up with no sipp left to end them */
export async function hangupAll(): Promise<void> {
  await killSipp();
  await asteriskCli('channel request hangup all');
}

/** asterisk -rx */
export async function asteriskCli(command: string): Promise<string> {
  const { stdout } = await run('bash', [PBX, 'cli', command]);
  return stdout;
}

export interface SippOptions {
  scenario: string;
  ip: string;
  /** pause of the scenario (ringing or holding), ms */
  pauseMs: number;
  /** UAC: the number to call and the caller id */
  call?: { to: string; from: string; name: string };
}

/** Runs one sipp call; resolves with its exit code (0 = the scenario completed). */
export function sipp(o: SippOptions): Promise<number> {
  const args = ['-sf', SIPP_DIR + o.scenario + '.xml', '-i', o.ip, '-p', '5060', '-m', '1', '-d', String(o.pauseMs), '-nostdin', '-timeout', '30'];
  if (o.call) {
    args.unshift('127.0.0.1:5060');
    args.push('-s', o.call.to, '-key', 'from', o.call.from, '-key', 'name', o.call.name);
  }
  const child = spawn('sipp', args, { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
}

/**
 * Resolves once a socket is bound to UDP ip:5060 (a phone's sipp is up), read from
 * /proc/net/udp; a loaded machine can take well over the half second a fixed wait would give.
 */
export async function sipListening(ip: string): Promise<void> {
  const hex = ip
    .split('.')
    .reverse()
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  for (let i = 0; i < 200; i++) {
    if ((await readFile('/proc/net/udp', 'utf8')).includes(` ${hex}:13C4 `)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no sipp listens on ${ip}:5060 after 5 s`);
}

/** Phones listen first, then the caller calls; resolves with every sipp exit code. */
export async function placeCall(caller: SippOptions, phones: SippOptions[] = []): Promise<number[]> {
  const listening = phones.map(sipp);
  await Promise.all(phones.map((p) => sipListening(p.ip)));
  const codes = [await sipp(caller)];
  return [...codes, ...(await Promise.all(listening))];
}
