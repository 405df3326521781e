// The trainer's Web Worker. The page's first message names its wasm-bindgen module and carries
// the compiled wasm; every later message goes to Rust (`worker_receive`), in order. Messages to
// the page follow `FromWorker` in src/protocol/mod.rs: `{ Answer: { id, reply } }`, `{ Progress }`
// (an import's reading) or `{ Fatal }`.
const early = [];
let deliver = (data, ports) => early.push([data, ports]);
let boot;
const booted = new Promise((resolve) => { boot = resolve; });

// Every WebGPU device the trainer creates is watched: a lost one (driver reset, `destroy()`)
// is reported, and the page starts a new worker from the last checkpoint.
const devices = [];
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    devices.push(device);
    device.lost.then((info) => self.postMessage({
      Fatal: `the GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`,
    }));
    return device;
  };
}

self.onmessage = (event) => {
  // `ToWorker::LoseDevice` (sent only by the test-hooks build).
  if (event.data === 'LoseDevice') devices.forEach((device) => device.destroy());
  else if (boot) { boot(event.data); boot = null; }
  // `ToWorker::Join` carries one MessagePort to each other worker of the group.
  else deliver(event.data, event.ports);
};

try {
  const { glue, module } = await booted;
  const bindings = await import(glue);
  await bindings.default({ module_or_path: module });
  deliver = (data, ports) => bindings.worker_receive(data, ports);
  for (const [data, ports] of early.splice(0)) deliver(data, ports);
} catch (error) {
  self.postMessage({ Fatal: String(error && error.message ? error.message : error) });
}
