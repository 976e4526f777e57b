// SPIKE: why dW scales worse than dX on two threads — the same GEMM (dW of 512 → 512, batch 128) accumulating
// into C or overwriting it, by chunk size, and with C at different alignments. node bench/spike-threads/dw-probe.mjs
import { startPool, f32 } from './pool.mjs';
const one = await startPool(1),
  two = await startPool(2);
function mk(p, M, N, K, align = 0) {
  const a = p.main.alloc(M * K * 4),
    b = p.main.alloc(K * N * 4),
    c0 = p.main.alloc(M * N * 4 + 128);
  const c = align ? ((c0 + 63) & ~63) + (align % 64) : c0;
  const A = f32(p.memory, a, M * K),
    B = f32(p.memory, b, K * N);
  for (let i = 0; i < A.length; i++) A[i] = Math.sin(i);
  for (let i = 0; i < B.length; i++) B[i] = Math.cos(i);
  return { a, b, c };
}
const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  return s[s.length >> 1];
};
function race(fns, flops) {
  const r = fns.map(() => []);
  let calls = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < calls; i++) fns[0][1]();
    if (performance.now() - t > 4) break;
    calls *= 2;
  }
  for (const [, f] of fns) for (let i = 0; i < calls; i++) f();
  for (let t = 0; t < 15; t++)
    fns.forEach(([, f], j) => {
      const s = performance.now();
      for (let i = 0; i < calls; i++) f();
      r[j].push((flops * calls) / ((performance.now() - s) / 1000) / 1e9);
    });
  const base = r[0];
  return fns
    .map(([n], j) => `${n}: ${median(r[j]).toFixed(1)} (${median(r[j].map((v, i) => v / base[i])).toFixed(2)}×)`)
    .join('  |  ');
}
// dW 512→512 batch 128: M=512 (out), N=512 (in), K=128 (batch); A = dZᵀ (rsA=1, csA=M)
const M = 512,
  N = 512,
  K = 128,
  fl = 2 * M * N * K;
const o = mk(one, M, N, K),
  t = mk(two, M, N, K),
  tA = mk(two, M, N, K, 64),
  tB = mk(two, M, N, K, 16);
console.log('C offsets mod 64:', t.c % 64, tA.c % 64, tB.c % 64);
console.log(
  'dW acc=1 by C alignment:',
  race(
    [
      ['1t', () => one.main.gemmNN(M, N, K, o.a, 1, M, o.b, N, o.c, N, 1)],
      ['2t 128c default', () => two.main.poolGemmNN(M, N, K, t.a, 1, M, t.b, N, t.c, N, 1, 128)],
      ['2t 128c C 64B-aligned', () => two.main.poolGemmNN(M, N, K, tA.a, 1, M, tA.b, N, tA.c, N, 1, 128)],
      ['2t 128c C at 16 mod 64', () => two.main.poolGemmNN(M, N, K, tB.a, 1, M, tB.b, N, tB.c, N, 1, 128)],
    ],
    fl,
  ),
);
for (const acc of [1, 0]) {
  console.log(
    `dW acc=${acc} A=dZᵀ:`,
    race(
      [
        ['1t', () => one.main.gemmNN(M, N, K, o.a, 1, M, o.b, N, o.c, N, acc)],
        ...[512, 256, 128, 64, 32].map((cw) => [
          `2t ${cw}c`,
          () => two.main.poolGemmNN(M, N, K, t.a, 1, M, t.b, N, t.c, N, acc, cw),
        ]),
      ],
      fl,
    ),
  );
}
// same shape but A row-major (rsA=K, csA=1), like dX
console.log(
  `same shape, A rows along K:`,
  race(
    [
      ['1t', () => one.main.gemmNN(M, N, K, o.a, K, 1, o.b, N, o.c, N, 0)],
      ...[256, 64].map((cw) => [`2t ${cw}c`, () => two.main.poolGemmNN(M, N, K, t.a, K, 1, t.b, N, t.c, N, 0, cw)]),
    ],
    fl,
  ),
);
// dX 128×512→512: M=128,N=512,K=512
const o2 = mk(one, 128, 512, 512),
  t2 = mk(two, 128, 512, 512);
console.log(
  `dX M128 N512 K512:`,
  race(
    [
      ['1t', () => one.main.gemmNN(128, 512, 512, o2.a, 512, 1, o2.b, 512, o2.c, 512, 0)],
      ...[256, 64].map((cw) => [
        `2t ${cw}c`,
        () => two.main.poolGemmNN(128, 512, 512, t2.a, 512, 1, t2.b, 512, t2.c, 512, 0, cw),
      ]),
    ],
    2 * 128 * 512 * 512,
  ),
);
await one.close();
await two.close();
