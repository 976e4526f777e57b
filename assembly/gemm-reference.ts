// Scalar reference kernels beside the SIMD ones in gemm.ts: the plain triple loops, for the tests that
// compare the two over many shapes.

import { at } from "./memory";

/** C[M, N] = A[M, K]·B[N, K]ᵀ (+ bias[N]) */
export function gemmNTReference(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, bias: usize): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum: f32 = bias ? load<f32>(at(bias, j)) : 0;
      for (let p = 0; p < k; p++) sum += load<f32>(at(a, i * lda + p)) * load<f32>(at(b, j * ldb + p));
      store<f32>(at(c, i * ldc + j), sum);
    }
  }
}

/** C[M, N] (+)= A·B with A(i, p) = a[i·rsA + p·csA] and B row-major [K, N] */
export function gemmNNReference(
  m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum: f32 = 0;
      for (let p = 0; p < k; p++) sum += load<f32>(at(a, i * rsA + p * csA)) * load<f32>(at(b, p * ldb + j));
      const out = at(c, i * ldc + j);
      store<f32>(out, accumulate ? load<f32>(out) + sum : sum);
    }
  }
}
