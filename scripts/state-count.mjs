// How many distinct model states does DPOR's tree visit, against its nodes? An estimate of what a
// state cache could merge (docs/performance.md). Slow: it hashes every object of the model at
// every node. Usage, after a build: node scripts/state-count.mjs N I F maxExecutions (1 2 1 20000: 2 min)
const [N, I, F, maxExec] = process.argv.slice(2).map(Number);
const D = new URL('../dist', import.meta.url).href;
const { factory, sized } = await import(`${D}/bench/mini.js`);
const { explore, DfsStrategy } = await import(`${D}/check/index.js`);
const base = factory(sized('fault-vs-invalidation-mini', N, I, F), null);
let inst = null;
const make = (o) => (inst = base(o));
// generic structural hash (two 32-bit lanes via FNV-ish mixing)
function mix(h, v) {
  h = Math.imul(h ^ v, 16777619) >>> 0;
  return h;
}
function hstr(h, s) {
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}
function hashGraph(root, skip) {
  const seen = new Map();
  let h = 2166136261;
  const stack = [root];
  while (stack.length) {
    const x = stack.pop();
    if (x === null || x === undefined) {
      h = mix(h, x === null ? 1 : 2);
      continue;
    }
    const t = typeof x;
    if (t === 'number') {
      h = mix(h, (x * 1000003) | 0);
      h = mix(h, (x / 4294967296) | 0);
      continue;
    }
    if (t === 'string') {
      h = hstr(mix(h, 3), x);
      continue;
    }
    if (t === 'boolean') {
      h = mix(h, x ? 5 : 6);
      continue;
    }
    if (t === 'function' || t === 'symbol' || t === 'bigint') {
      h = mix(h, 7);
      continue;
    }
    if (skip.has(x)) {
      h = mix(h, 8);
      continue;
    }
    const s = seen.get(x);
    if (s !== undefined) {
      h = mix(mix(h, 9), s);
      continue;
    }
    seen.set(x, seen.size);
    if (Object.prototype.toString.call(x) === '[object Generator]') {
      h = mix(h, 10);
      continue;
    }
    if (ArrayBuffer.isView(x)) {
      h = mix(h, 11);
      for (let i = 0; i < x.length; i++) h = mix(h, Number(x[i]) | 0);
      continue;
    }
    if (Array.isArray(x)) {
      h = mix(mix(h, 12), x.length);
      for (let i = x.length - 1; i >= 0; i--) stack.push(x[i]);
      continue;
    }
    if (x instanceof Map) {
      h = mix(mix(h, 13), x.size);
      for (const [k, v] of x) {
        stack.push(v);
        stack.push(k);
      }
      continue;
    }
    if (x instanceof Set) {
      h = mix(mix(h, 14), x.size);
      for (const v of x) stack.push(v);
      continue;
    }
    h = hstr(mix(h, 15), x.constructor?.name ?? '');
    const keys = Object.keys(x);
    for (let i = keys.length - 1; i >= 0; i--) {
      stack.push(x[keys[i]]);
    }
    h = hstr(h, keys.join(','));
  }
  return h;
}
const nodes = new Set(),
  states = new Set(),
  statesPc = new Set();
let prefix = '';
let thrOps = [];
let skip = null;
const observer = {
  step(thread, op) {
    if (inst !== curInst) {
      curInst = inst;
      prefix = '';
      thrOps = [];
      skip = new Set([inst.log, inst.metrics].filter(Boolean));
    }
    const g = hashGraph(inst.kvm, skip) ^ Math.imul(hashGraph(inst.rt, skip), 31);
    nodes.add(prefix);
    const threads = inst.rt.threads;
    let pcs = '',
      hist = '';
    for (const t of threads) {
      pcs += `${t.op}/${t.done ?? ''};`;
      hist += `${thrOps[t.id] ?? ''}|`;
    }
    states.add(`${g}#${hist}`);
    statesPc.add(`${g}#${pcs}`);
    prefix += `${thread},`;
    thrOps[thread] = `${thrOps[thread] ?? ''}${op}.`;
  },
};
let curInst = null;
const t0 = performance.now();
const r = explore(make, new DfsStrategy({ observer }), { maxExecutions: maxExec });
console.log(
  `${N}x${I}x${F}: executions ${r.summary.executions} exhausted ${r.summary.exhausted} tree-nodes ${nodes.size} states(global+op-history) ${states.size} states(global+next-op) ${statesPc.size} ${Math.round(performance.now() - t0)} ms`,
);
