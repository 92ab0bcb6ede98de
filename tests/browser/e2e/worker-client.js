// Promise wrapper around the prover Web Worker (messages matched by id).
export function workerClient(url = "/src/web/assets/e2e/prover-worker.js") {
  const worker = new Worker(url, { type: "module" });
  const pending = new Map();
  let next = 1;
  worker.onmessage = (ev) => {
    const p = pending.get(ev.data.id);
    pending.delete(ev.data.id);
    if (p) p(ev.data);
  };
  worker.onerror = (ev) => {
    for (const p of pending.values()) p({ ok: false, error: `worker error ${ev.message}` });
    pending.clear();
  };
  return {
    call(msg) {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        worker.postMessage({ ...msg, id });
      });
    },
    terminate: () => worker.terminate(),
  };
}
