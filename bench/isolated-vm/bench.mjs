// The original's choice, measured like ours: a new isolate + context per run (128 MB limit, as the
// original configured), the code wrapped in a function, `ctx` copied in, the result copied out.
// Prints one JSON line per case: median and p99 in milliseconds.
import ivm from "isolated-vm";

const ITERATIONS = Number(process.env.ITERATIONS ?? 2000);
const WARMUP = 200;

function tenKilobyteCtx() {
  const items = [];
  for (let i = 0; items.length < 170; i++) {
    items.push({ id: i, name: `item-${i}`, price: i * 1.5, tags: ["a", "b"] });
  }
  return { a: 1, items };
}

function coldRun(code, ctx) {
  const isolate = new ivm.Isolate({ memoryLimit: 128 });
  try {
    const context = isolate.createContextSync();
    context.global.setSync("ctx", new ivm.ExternalCopy(ctx).copyInto());
    const script = isolate.compileScriptSync(`(function () { ${code} \n})()`);
    return script.runSync(context, { timeout: 30000, copy: true });
  } finally {
    isolate.dispose();
  }
}

function measure(name, code, ctx) {
  for (let i = 0; i < WARMUP; i++) coldRun(code, ctx);
  const samples = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    coldRun(code, ctx);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  console.log(JSON.stringify({ name, median_ms: at(0.5), p99_ms: at(0.99), iterations: ITERATIONS }));
}

measure("return_ctx_a_plus_1", "return ctx.a + 1", { a: 1 });
measure("ctx_10kb", "return ctx.items.length + ctx.a", tenKilobyteCtx());
