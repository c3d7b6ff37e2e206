// Open an HTML report in headless Chromium and say what a reader would see, as JSON on stdout:
// console errors, requests beyond the page itself, scripts, the timeline's tracks per
// migration, the failures listed, and which check rows stay visible under each status filter.
// Usage: node check-report.cjs NODE_MODULES REPORT.html SCREENSHOT.png
const path = require('path');
const [modules, report, screenshot] = process.argv.slice(2);
const { chromium } = require(path.resolve(modules, 'playwright-core'));

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.PREFLIGHT_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const out = { consoleErrors: [], requests: [] };
  const url = 'file://' + path.resolve(report);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => out.consoleErrors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) out.requests.push(r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  Object.assign(out, await page.evaluate(() => ({
    title: document.title,
    verdict: document.querySelector('#verdict')?.textContent,
    scripts: document.scripts.length,
    timelines: [...document.querySelectorAll('figure.timeline')].map((f) => ({
      migration: f.dataset.migration,
      tracks: [...f.querySelectorAll('g.track')].map((g) => Number(g.dataset.system)),
    })),
    failures: [...document.querySelectorAll('#failures li.finding.fail')].map((li) => li.querySelector(':scope > code').textContent),
  })));
  const visible = async () => page.evaluate(() => [...document.querySelectorAll('table.checks tr[class^=row-]')]
    .filter((r) => getComputedStyle(r).display !== 'none').map((r) => r.className.slice(4)));
  out.filters = { all: await visible() };
  for (const s of ['fail', 'warn', 'pass', 'skip']) {
    await page.click(`label[for=show-${s}]`);
    out.filters[s] = await visible();
  }
  await page.click('label[for=show-all]');
  await page.screenshot({ path: screenshot, fullPage: true });
  await browser.close();
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
