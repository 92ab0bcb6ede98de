// The verify page's worker for encrypted (v2) bundles: runs bundle-verify.js off the page's
// thread and posts progress and the report. Module worker, same origin only (CSP script-src
// 'self'); it fetches nothing. The per-ballot work (V8's aggregation, V5's proofs) goes to
// helpers, which are this same file started again as nested workers, one per core (at most 8);
// without nested workers it runs here.
//
// Page → worker: { type: "verify", id, bytes?, options } (no bytes: the bundle of the last run,
//   kept parsed, e.g. FULL after FAST).
// Worker → page: { type: "progress", id, done, total, phase, elapsed_ms },
//   { type: "report", id, report } (report.not_v2: not a v2 bundle, the page checks it as v1),
//   { type: "error", id, message }.
// Coordinator → helper: { type: "task", seq, kind, payload }; helper → { type: "task-done", seq,
//   result } or { type: "task-error", seq, message }.
import { parseJsonFast, parseDocument, verifyParsed, TASKS, ENVELOPE_FORMAT } from "./bundle-verify.js";

let last = null; // { doc } of the last bundle verified
let helpers = null;

function startHelpers() {
  if (helpers) return helpers;
  helpers = [];
  if (typeof Worker === "undefined") return helpers;
  const cores = (self.navigator && self.navigator.hardwareConcurrency) || 2;
  const n = Math.max(1, Math.min(8, cores));
  for (let i = 0; i < n; i++) {
    try {
      helpers.push(new Worker(new URL("./verify-worker.js", import.meta.url), { type: "module", name: "verify-helper-" + i }));
    } catch {
      break;
    }
  }
  return helpers;
}

/** The pool bundle-verify.js runs its per-ballot tasks on: chunks go to idle helpers in order.
 *  A helper that fails (it could not start, or died) is dropped and its chunk runs here; a task
 *  that throws in a helper fails the run. */
function pool() {
  const hs = startHelpers().filter((h) => !h.dead);
  if (!hs.length) return null;
  return {
    size: hs.length,
    map(kind, payloads, onEach) {
      return new Promise((resolve, reject) => {
        const results = new Array(payloads.length);
        let next = 0, finished = 0, seq = 0, failed = false;
        if (!payloads.length) { resolve(results); return; }
        const finish = (i, result) => {
          results[i] = result;
          finished++;
          if (onEach) onEach(i, result);
          if (finished === payloads.length) resolve(results);
        };
        const here = (i) => {
          try { finish(i, TASKS[kind](payloads[i])); } catch (err) { failed = true; reject(err); }
        };
        const feed = (h) => {
          if (failed || next >= payloads.length) return;
          if (h.dead) {
            // No helper left: the rest runs here.
            if (helpers.every((x) => x.dead)) while (next < payloads.length && !failed) here(next++);
            return;
          }
          const i = next++;
          const mySeq = ++seq;
          const stop = () => { h.removeEventListener("message", onMessage); h.removeEventListener("error", onError); };
          const onMessage = (e) => {
            const d = e.data;
            if (!d || d.seq !== mySeq) return;
            stop();
            if (d.type === "task-done") finish(i, d.result);
            else { failed = true; reject(new Error(d.message)); return; }
            feed(h);
          };
          const onError = (e) => {
            if (e && e.preventDefault) e.preventDefault();
            stop();
            h.dead = true;
            here(i);
            feed(h);
          };
          h.addEventListener("message", onMessage);
          h.addEventListener("error", onError);
          h.postMessage({ type: "task", seq: mySeq, kind, payload: payloads[i] });
        };
        for (const h of hs) feed(h);
      });
    },
  };
}

/** bundle::is_v2 on the parsed text. */
function v2(tree) {
  return tree instanceof Map && (tree.has("manifest_hex") || tree.get("format") === ENVELOPE_FORMAT);
}

async function verify({ id, bytes, options }) {
  const t0 = performance.now();
  if (bytes) {
    let tree;
    try { tree = parseJsonFast(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)); } catch { tree = undefined; }
    if (!v2(tree)) {
      self.postMessage({ type: "report", id, report: { not_v2: true } });
      return;
    }
    last = { doc: parseDocument(bytes, tree) };
  }
  if (!last) throw new Error("no bundle to verify");
  self.postMessage({ type: "progress", id, done: 0, total: 0, phase: "parsed", elapsed_ms: Math.round(performance.now() - t0) });
  let lastPost = 0;
  const onProgress = (done, total, phase) => {
    const now = performance.now();
    if (done < total && now - lastPost < 100) return;
    lastPost = now;
    self.postMessage({ type: "progress", id, done, total, phase, elapsed_ms: Math.round(now - t0) });
  };
  const report = await verifyParsed(last.doc, { ...options, onProgress, pool: pool() || undefined });
  report.timing.worker_ms = Math.round(performance.now() - t0);
  report.helpers = helpers ? helpers.length : 0;
  self.postMessage({ type: "report", id, report });
}

self.onmessage = async (e) => {
  const m = e.data || {};
  if (m.type === "task") {
    try {
      self.postMessage({ type: "task-done", seq: m.seq, result: TASKS[m.kind](m.payload) });
    } catch (err) {
      self.postMessage({ type: "task-error", seq: m.seq, message: String((err && err.message) || err) });
    }
    return;
  }
  if (m.type === "verify") {
    try {
      await verify(m);
    } catch (err) {
      self.postMessage({ type: "error", id: m.id, message: String((err && err.message) || err) });
    }
  }
};
