// The CPU trainer's Web Worker. The page's first message names its wasm-bindgen module and
// carries the compiled wasm; every later message goes to Rust (`worker_receive`), in order.
const early = [];
let deliver = (data) => early.push(data);
let boot;
const booted = new Promise((resolve) => { boot = resolve; });
self.onmessage = (event) => (boot ? (boot(event.data), (boot = null)) : deliver(event.data));

try {
  const { glue, module } = await booted;
  const bindings = await import(glue);
  await bindings.default({ module_or_path: module });
  deliver = (data) => bindings.worker_receive(data);
  for (const data of early.splice(0)) deliver(data);
} catch (error) {
  self.postMessage({ fatal: String(error && error.message ? error.message : error) });
}
