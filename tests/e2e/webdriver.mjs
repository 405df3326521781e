// A minimal W3C WebDriver client over chromedriver: just what the page test needs.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';


export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Chrome flags: headless, WebGPU on SwiftShader, nothing that phones home. */
export const CHROME_ARGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
  '--window-size=1280,2200',
];

export class Browser {
  static async launch({ downloadDir } = {}) {
    const port = await freePort();
    const driver = spawn(process.env.CHROMEDRIVER ?? 'chromedriver', [`--port=${port}`], { stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${base}/status`)).ok) break; } catch { /* not up yet */ }
      await sleep(100);
    }
    const options = { args: CHROME_ARGS };
    if (process.env.CHROME_BIN) options.binary = process.env.CHROME_BIN;
    if (downloadDir) options.prefs = { 'download.default_directory': downloadDir, 'download.prompt_for_download': false };
    const response = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: {
        browserName: 'chrome', 'goog:chromeOptions': options, 'goog:loggingPrefs': { browser: 'ALL' },
        timeouts: { script: 600_000, pageLoad: 120_000 },
      } } }),
    });
    const body = await response.json();
    if (!response.ok) { driver.kill(); throw new Error(`no session: ${JSON.stringify(body)}`); }
    const browser = new Browser(driver, `${base}/session/${body.value.sessionId}`);
    // Where the browser's own DevTools endpoint listens (the profiler attaches to the worker).
    browser.debuggerAddress = body.value.capabilities['goog:chromeOptions']?.debuggerAddress;
    if (downloadDir) {
      await browser.cdp('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloadDir });
    }
    return browser;
  }

  constructor(driver, session) { this.driver = driver; this.session = session; }

  async command(method, path, body) {
    const response = await fetch(`${this.session}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  /** Opens a new browser window (another tab of the same profile) and returns its handle. */
  async newWindow() { return (await this.command('POST', '/window/new', { type: 'window' })).handle; }
  /** The current window's handle. */
  windowHandle() { return this.command('GET', '/window'); }
  /** Makes window `handle` the one commands go to. */
  switchTo(handle) { return this.command('POST', '/window', { handle }); }
  cdp(cmd, params) { return this.command('POST', '/goog/cdp/execute', { cmd, params }); }
  goto(url) { return this.command('POST', '/url', { url }); }
  /** Runs `script` (a function body) in the page and returns its value; promises are awaited. */
  run(script, ...args) { return this.command('POST', '/execute/async', {
    script: `const done = arguments[arguments.length - 1];
             Promise.resolve((async (...a) => { ${script} })(...Array.from(arguments).slice(0, -1)))
               .then(done, e => done({ __error: String(e) }));`,
    args,
  }).then(v => { if (v && v.__error) throw new Error(v.__error); return v; }); }
  // A W3C element reference is an object with one key, the element id.
  async find(css) { return Object.values(await this.command('POST', '/element', { using: 'css selector', value: css }))[0]; }
  async click(css) { return this.command('POST', `/element/${await this.find(css)}/click`, {}); }
  async sendKeys(css, text) { return this.command('POST', `/element/${await this.find(css)}/value`, { text }); }
  async screenshot() { return Buffer.from(await this.command('GET', '/screenshot'), 'base64'); }
  /** Drops `paths` (files or folders) on element `css`, as a drag from the desktop would. */
  async drop(css, paths) {
    const { x, y } = await this.run(`const e = document.querySelector(${JSON.stringify(css)});
      e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + Math.min(r.height / 2, 40) };`);
    const data = { items: [], files: paths, dragOperationsMask: 1 };
    for (const type of ['dragEnter', 'dragOver', 'drop']) {
      await this.cdp('Input.dispatchDragEvent', { type, x, y, data });
    }
  }
  /** The browser console since the last call. */
  logs() { return this.command('POST', '/se/log', { type: 'browser' }); }

  /** Polls `script` until it returns something truthy. */
  async waitFor(what, script, { timeout = 120_000, interval = 250 } = {}) {
    const start = Date.now();
    let last;
    while (Date.now() - start < timeout) {
      last = await this.run(script);
      if (last) return last;
      await sleep(interval);
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
  }

  async close() {
    try { await fetch(this.session, { method: 'DELETE' }); } finally { this.driver.kill(); }
  }
}
