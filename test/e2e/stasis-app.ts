/**
 * A small Stasis application written with `ari-client` (the package Asterisk users know):
 * it answers every call that enters Stasis(demo). callhook must observe these calls without
 * disturbing the application.
 */
import ari from 'ari-client';

export interface StasisApp {
  answered: string[];
  close(): Promise<void>;
}

export async function startStasisApp(url: string, user: string, password: string): Promise<StasisApp> {
  const client = await ari.connect(url, user, password);
  const answered: string[] = [];
  client.on('StasisStart', (_event: unknown, channel: { id: string; answer: () => Promise<void> }) => {
    channel.answer().then(
      () => answered.push(channel.id),
      () => undefined,
    );
  });
  await client.start('demo');
  return {
    answered,
    close: async () => {
      try {
        client.stop();
      } catch {
        // already closed
      }
    },
  };
}
