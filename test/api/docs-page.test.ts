/** /docs in a real browser: Swagger UI loads the OpenAPI document and shows every operation. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { browser } from '../helpers/browser.js';
import { FakeAri } from '../helpers/fake-ari.js';
import { runDaemon, type Running } from '../helpers/daemon.js';

let ari: FakeAri;
let run: Running;
beforeAll(async () => {
  ari = await FakeAri.start();
  run = await runDaemon(ari);
});
afterAll(async () => {
  await run.daemon.close();
  await ari.close();
});

it('renders the OpenAPI document with every operation, grouped by tag', async () => {
  const doc = (await (await fetch(`${run.daemon.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, object> };
  const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
  const b = await browser();
  try {
    const page = await b.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(`${run.daemon.url}/docs`);
    await page.waitForSelector('.opblock', { timeout: 15_000 });
    expect(await page.locator('.info .title').innerText()).toContain('callhook');
    expect(await page.locator('.opblock').count()).toBe(operations);
    for (const tag of ['accounts', 'webhooks', 'deliveries', 'health']) expect(await page.locator(`.opblock-tag[data-tag="${tag}"]`).count(), tag).toBe(1);
    // an operation opens with its parameters and its Kazoo-shaped responses
    await page.locator('.opblock-summary-path[data-path="/api/v1/accounts/{account_id}/webhooks/{webhook_id}"]').first().click();
    await page.waitForSelector('.responses-table');
    expect(await page.locator('.opblock.is-open .response-col_status').allInnerTexts()).toEqual(expect.arrayContaining(['200', '401', '404']));
    expect(problems).toEqual([]);
  } finally {
    await b.close();
  }
}, 60_000);
