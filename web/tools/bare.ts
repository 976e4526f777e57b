// For web/tools/speed.mjs: window.measure(request) runs bare-worker.js and resolves with its steps/s.
const worker = new Worker(new URL('./bare-worker.js', import.meta.url), { type: 'module' });
(window as unknown as { measure: (request: unknown) => Promise<number> }).measure = (request) =>
  new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<number>) => resolve(event.data);
    worker.postMessage(request);
  });
