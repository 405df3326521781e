// A CPU profile of the trainer's Web Worker while it trains: Chrome's `Profiler` over the
// DevTools protocol, attached to the worker's target (chromedriver's own CDP route reaches only
// the page). Prints how busy the worker was per step and the functions with the most self time.
//
// `./scripts/bench --profile [cpu|webgpu]` builds the app with the wasm's function names kept and
// runs `node --experimental-websocket bench/profile.mjs [cpu|webgpu] [seconds]` on it.
// PROFILE_DIST names the build (default dist/); PROFILE_OUT writes the raw `.cpuprofile` too.
// `cpu:2` profiles the CPU path with 2 workers (the first one); PROFILE_TARGET=page profiles the
// page's thread instead of a worker. PROFILE_REPLAY=off profiles WebGPU steps run without replaying a
// captured step (the worker's `__benchReplay` test hook), to compare both in one build. On WebGPU it also counts the worker's `dispatchWorkgroups`
// and `submit` calls per step, through a hook this script installs over the protocol.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = resolve(process.env.PROFILE_DIST ?? join(ROOT, 'dist'));
const [PATH, WORKERS = '1'] = (process.argv[2] ?? 'cpu').split(':');
const TARGET = process.env.PROFILE_TARGET ?? 'worker';
const SECONDS = Number(process.argv[3] ?? 10);
const TOP = 30;

/** One DevTools connection to the whole browser; `send` can address an attached session. */
async function devtools(address) {
  const { webSocketDebuggerUrl } = await (await fetch(`http://${address}/json/version`)).json();
  const socket = new WebSocket(webSocketDebuggerUrl);
  await new Promise((ok, fail) => { socket.onopen = ok; socket.onerror = fail; });
  let next = 0;
  const waiting = new Map();
  socket.onmessage = ({ data }) => {
    const message = JSON.parse(data);
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.error) pending.fail(new Error(JSON.stringify(message.error)));
    else pending.ok(message.result);
  };
  return {
    send(method, params = {}, sessionId) {
      const id = ++next;
      socket.send(JSON.stringify({ id, method, params, sessionId }));
      return new Promise((ok, fail) => waiting.set(id, { ok, fail }));
    },
    close: () => socket.close(),
  };
}

/** Self time (ms) per function, from the profile's samples. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map(node => [node.id, node]));
  const times = new Map();
  profile.samples.forEach((id, i) => {
    const { functionName, url } = byId.get(id).callFrame;
    const name = functionName || (url ? `(anonymous) ${url.split('/').pop()}` : '(program)');
    times.set(name, (times.get(name) ?? 0) + profile.timeDeltas[i] / 1000);
  });
  return [...times.entries()].sort((a, b) => b[1] - a[1]);
}

const server = await serve(DIST);
const browser = await Browser.launch();
try {
  await browser.goto(`${server.url}?path=${PATH}&workers=${WORKERS}`);
  await browser.waitFor('the first grid', `const app = document.getElementById('app');
    return app.dataset.phase === 'ready' && app.dataset.firstGridMs;`, { timeout: 300_000 });
  await browser.click('#train');
  await browser.waitFor('a few steps', `return Number(document.getElementById('step').textContent) >= 5;`,
    { timeout: 600_000 });
  const cdp = await devtools(browser.debuggerAddress);
  const { targetInfos } = await cdp.send('Target.getTargets');
  const worker = targetInfos.find(target => target.type === TARGET);
  if (!worker) throw new Error(`no ${TARGET} among ${targetInfos.map(t => t.type).join(', ')}`);
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: worker.targetId, flatten: true });
  // The bench's own hook (nothing in the app): count the worker's WebGPU dispatches and
  // submits from here on, by wrapping the prototypes' methods in the worker's context.
  const countCalls = `(() => {
    const counts = self.__benchCalls = { dispatches: 0, submits: 0 };
    const wrap = (proto, name, key) => {
      if (!proto || !proto[name]) return;
      const original = proto[name];
      proto[name] = function (...args) { counts[key] += 1; return original.apply(this, args); };
    };
    wrap(self.GPUComputePassEncoder && GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatches');
    wrap(self.GPUQueue && GPUQueue.prototype, 'submit', 'submits');
    return true;
  })()`;
  if (TARGET === 'worker') {
    await cdp.send('Runtime.evaluate', { expression: countCalls, returnByValue: true }, sessionId);
    if (process.env.PROFILE_REPLAY === 'off') {
      // Off from the worker's next command; the steps already queued finish as they were.
      await cdp.send('Runtime.evaluate', { expression: 'self.__benchReplay = false' }, sessionId);
      const queued = Number(await browser.run(`return document.getElementById('step').textContent;`));
      await browser.waitFor('steps without replays', `return Number(document.getElementById('step').textContent) >= ${queued + 3};`,
        { timeout: 600_000 });
    }
  }
  await cdp.send('Profiler.enable', {}, sessionId);
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 }, sessionId);
  const stepBefore = Number(await browser.run(`return document.getElementById('step').textContent;`));
  if (TARGET === 'worker') {
    await cdp.send('Runtime.evaluate', { expression: 'Object.assign(self.__benchCalls, { dispatches: 0, submits: 0 })' },
      sessionId);
  }
  await cdp.send('Profiler.start', {}, sessionId);
  await new Promise(done => setTimeout(done, SECONDS * 1000));
  const { profile } = await cdp.send('Profiler.stop', {}, sessionId);
  const stepAfter = Number(await browser.run(`return document.getElementById('step').textContent;`));
  const calls = TARGET === 'worker'
    ? (await cdp.send('Runtime.evaluate', { expression: 'JSON.stringify(self.__benchCalls)', returnByValue: true },
      sessionId)).result.value
    : null;
  cdp.close();
  if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));

  const times = selfTimes(profile);
  const total = times.reduce((sum, [, ms]) => sum + ms, 0);
  const idle = times.filter(([name]) => name === '(idle)').reduce((sum, [, ms]) => sum + ms, 0);
  const steps = stepAfter - stepBefore;
  console.log(`${TARGET} on ${PATH} (${WORKERS} worker(s)): ${steps} steps in ${(total / 1000).toFixed(1)} s`
    + ` (${(total / Math.max(steps, 1)).toFixed(1)} ms/step); busy ${(100 * (1 - idle / total)).toFixed(1)} %`
    + `, ${((total - idle) / Math.max(steps, 1)).toFixed(1)} ms busy per step`);
  if (calls && PATH === 'webgpu') {
    // Counted over the profile's window; steps are those read back in it (≤ 3 more in flight).
    const { dispatches, submits } = JSON.parse(calls);
    console.log(`WebGPU calls in the worker: ${(dispatches / Math.max(steps, 1)).toFixed(1)} dispatchWorkgroups`
      + ` and ${(submits / Math.max(steps, 1)).toFixed(1)} submits per step (${dispatches} and ${submits}`
      + ` over ~${steps} steps)`);
  }
  console.log('| self ms/step | share of busy | function |');
  console.log('| --- | --- | --- |');
  for (const [name, ms] of times.filter(([n]) => n !== '(idle)').slice(0, TOP)) {
    console.log(`| ${(ms / Math.max(steps, 1)).toFixed(2)} | ${(100 * ms / (total - idle)).toFixed(1)} % | ${name.slice(0, 120)} |`);
  }
} finally {
  await browser.close();
  server.close();
}
