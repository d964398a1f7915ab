// The web console in a real headless Chromium (Debian's `chromium`, driven by playwright-core) against
// a real server: log in, browse, page through rows, restore a version, run SQL and see the chart
// drawn, upload a CSV by drag and drop. Screenshots go to test-output/ (and, with
// HANGAR_UPDATE_SCREENSHOTS=1, to docs/images/console.png, which the README shows).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, TimestampMillisecond, vectorFromArray } from 'apache-arrow';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HangarClient } from '../../src/client/index.js';
import { parseScopes } from '../../src/server/auth/scopes.js';
import { UsersFile } from '../../src/server/auth/users-file.js';
import { HangarServer } from '../../src/server/hangar-server.js';

const ROOT = join(import.meta.dirname, '../..');
const OUTPUT = join(ROOT, 'test-output');
const SECRET = 'console-test-secret-of-32-bytes!!!';

/** How long the checks wait for the page to show a server's answer (a loaded machine takes seconds). */
const UI_WAIT = { timeout: 20_000 };

let server: HangarServer;
let browser: Browser;
let page: Page;
let dir: string;

/** Debian's chromium (installed by .ci/run), or CHROMIUM_PATH. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
}

/** A frame of `rows` minutes of prices from 2026-01-01, with a time column. */
function prices(rows: number, base: number): Table {
  const start = Date.parse('2026-01-01T00:00:00Z');
  return new Table({
    ts: vectorFromArray(Array.from({ length: rows }, (_, i) => start + i * 60_000), new TimestampMillisecond()),
    px: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => base + Math.sin(i / 12) * 5 + i / 20)),
    volume: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => 50 + ((i * 37) % 23))),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hangar-console-'));
  await mkdir(OUTPUT, { recursive: true });
  const users = await UsersFile.load(join(dir, 'users.json'), true);
  await users.set('alice', 'wonderland', parseScopes('read:market write:market'));
  server = await HangarServer.start({ port: 0, data: 'memory:', auth: { secret: SECRET, users }, http: { port: 0 } });
  const client = HangarClient.connect(server.location, { headers: { authorization: `Bearer ${server.authenticator.issue('root', parseScopes('admin'))}` } });
  await client.put('prices', prices(150, 100), { bucket: 'market', metadata: { source: 'test', unit: 'EUR' } });
  await client.put('prices', prices(250, 100), { bucket: 'market', mode: 'replace' });
  await client.put('other', prices(10, 1), { bucket: 'elsewhere' });
  client.close();
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('web console in Chromium', () => {
  it('logs in with a password and shows only the readable buckets', async () => {
    await page.goto(server.httpUrl!);
    await page.waitForSelector('#login-form');
    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=password]', 'wrong');
    await page.click('#login-form button');
    await expect.poll(() => page.textContent('#login-error'), UI_WAIT).toMatch(/wrong user name or password/);
    await page.fill('input[name=password]', 'wonderland');
    await page.click('#login-form button');
    await page.waitForSelector('#app:not([hidden])');
    expect(await page.textContent('#who')).toContain('alice');
    expect(await page.$$eval('#bucket option', (options) => options.map((option) => option.textContent))).toEqual(['market']);
    // The session is an HttpOnly cookie: the page's scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('opens a frame: schema, metadata, versions and server-side pages of rows', async () => {
    await page.click('#frames li[data-name=prices]');
    await page.waitForSelector('#frame:not([hidden])');
    expect(await page.$$eval('#schema td:first-child', (cells) => cells.map((cell) => cell.textContent))).toEqual(['ts', 'px', 'volume']);
    await expect.poll(() => page.textContent('#page-info'), UI_WAIT).toBe('rows 1–100 of 250');
    expect(await page.$$eval('#preview tr', (rows) => rows.length)).toBe(101);
    await page.click('#page-next');
    await page.click('#page-next');
    await expect.poll(() => page.textContent('#page-info'), UI_WAIT).toBe('rows 201–250 of 250');
    expect(await page.$eval('#preview tr:nth-child(2) td', (cell) => cell.textContent)).toBe('2026-01-01T03:20:00.000000');
  });

  it('restores an earlier version', async () => {
    expect(await page.textContent('#frame-summary')).toMatch(/^version 2,/);
    await page.click('#versions button:text("Restore v1")');
    await expect.poll(() => page.textContent('#frame-summary'), UI_WAIT).toMatch(/^version 3,.* 150 rows/);
    expect(await page.textContent('#metadata')).toContain('EUR');
  });

  it('runs SQL with Ctrl+Enter and draws a line chart of the time column', async () => {
    await page.click('#nav-sql');
    await page.fill('#sql-text', 'SELECT ts, px, volume FROM prices ORDER BY ts');
    await page.press('#sql-text', 'Control+Enter');
    await expect.poll(() => page.textContent('#sql-status'), UI_WAIT).toMatch(/^150 rows/);
    expect(await page.$$eval('#sql-highlight .tok-keyword', (spans) => spans.map((span) => span.textContent))).toEqual(['SELECT', 'FROM', 'ORDER', 'BY']);
    const painted = await page.$eval('#chart canvas', (canvas) => {
      const context = (canvas as HTMLCanvasElement).getContext('2d')!;
      const pixels = context.getImageData(0, 0, (canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height).data;
      let drawn = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) drawn++;
      return drawn;
    });
    expect(painted).toBeGreaterThan(500);
    expect(await page.$$eval('.u-legend .u-series th', (labels) => labels.map((label) => label.textContent?.trim()))).toEqual(['ts', 'px', 'volume']);
    await page.screenshot({ path: join(OUTPUT, 'console-sql.png') });
    if (process.env.HANGAR_UPDATE_SCREENSHOTS === '1') await page.screenshot({ path: join(ROOT, 'docs/images/console.png') });
  });

  it('shows SQL errors as the problem detail', async () => {
    await page.fill('#sql-text', 'SELECT * FROM elsewhere.other');
    await page.press('#sql-text', 'Control+Enter');
    await expect.poll(() => page.textContent('#sql-error'), UI_WAIT).toMatch(/denied|may not/i);
  });

  it('stores a CSV dropped on the upload zone', async () => {
    await page.click('#nav-browse');
    await page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['sym,qty,at\nA,1,2026-02-01 09:00:00\nB,2,2026-02-01 09:01:00\nC,3,2026-02-01 09:02:00\n'], 'trades.csv', { type: 'text/csv' }));
      document.getElementById('dropzone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => page.textContent('#upload-status'), UI_WAIT).toBe("stored 3 rows as 'trades' (version 1)");
    expect(await page.$eval('#upload-progress', (bar) => (bar as HTMLProgressElement).value)).toBe(1);
    await page.waitForSelector('#frames li[data-name=trades]');
    await expect.poll(() => page.textContent('#frame-title'), UI_WAIT).toBe('market / trades');
    expect(await page.$$eval('#schema td:nth-child(2)', (cells) => cells.map((cell) => cell.textContent))).toEqual(['Utf8', 'Int64', 'Timestamp<MICROSECOND>']);
    await page.screenshot({ path: join(OUTPUT, 'console-frame.png') });
  });
});
