// The small-network SIMD kernels (assembly/small.ts) against the scalar references beside them, bit for bit,
// over a list of shapes (vector bodies and scalar tails, short and dot-product K, batch 1 and more), as
// XNNPACK tests its microkernels.
import { describe, expect, it } from 'vitest';
import { core, inWasm, readF32 } from './helpers';
import * as ref from './reference';

const random = ref.testRandom(47);
/** [batch, k (inputs), n (outputs)] */
const SHAPES: [number, number, number][] = [];
// widths across one strip of 16 lanes (tails of 1–3 lanes, whole vectors, a second strip), batches long enough
// for every row but the last to be read as whole vectors
for (const batch of [1, 2, 5, 9, 37])
  for (const k of [1, 2, 3, 4, 5, 8, 10, 16, 17, 30]) for (const n of [1, 3, 4, 7, 8, 10, 16, 17, 30]) SHAPES.push([batch, k, n]);

const values = (count: number) => Float32Array.from({ length: count }, () => random() * 2 - 1);

function expectSameBits(simd: Float32Array, scalar: Float32Array, what: string) {
  const a = new Uint32Array(simd.buffer),
    b = new Uint32Array(scalar.buffer);
  const at = a.findIndex((v, i) => v !== b[i]);
  expect(at, `${what}: first differing float at ${at}: ${simd[at]} vs ${scalar[at]}`).toBe(-1);
}

describe('small-network kernels against their scalar references', () => {
  it('forward: short K (< 4) and dot products, with and without a bias', () => {
    for (const [batch, k, n] of SHAPES) {
      for (const withBias of [true, false]) {
        const { ptrs, free } = inWasm(
          values(batch * k),
          values(n * k),
          values(n),
          new Float32Array(batch * n),
          new Float32Array(batch * n),
        );
        const [x, w, bias, simd, scalar] = ptrs;
        const b = withBias ? bias : 0;
        if (k < 4) {
          core.smallLinearForwardShortK(x, w, b, simd, batch, k, n);
          core.smallLinearForwardShortKScalar(x, w, b, scalar, batch, k, n);
        } else {
          core.smallLinearForwardDot(x, w, b, simd, batch, k, n);
          core.smallLinearForwardDotScalar(x, w, b, scalar, batch, k, n);
        }
        expectSameBits(readF32(simd, batch * n), readF32(scalar, batch * n), `forward ${batch}×${k}→${n} bias ${withBias}`);
        free();
      }
    }
  });

  it('backward: dW and dBias overwritten, dX', () => {
    for (const [batch, k, n] of SHAPES) {
      const { ptrs, free } = inWasm(
        values(batch * n),
        values(batch * k),
        values(n * k),
        values(n * k),
        values(n),
        values(n * k),
        values(n),
        new Float32Array(batch * k),
        new Float32Array(batch * k),
      );
      const [dz, x, w, dwSimd, dbSimd, dwScalar, dbScalar, dxSimd, dxScalar] = ptrs;
      core.smallLinearBackwardParams(dz, x, dwSimd, dbSimd, batch, k, n);
      core.smallLinearBackwardParamsScalar(dz, x, dwScalar, dbScalar, batch, k, n);
      core.smallLinearBackwardInput(dz, w, dxSimd, batch, k, n);
      core.smallLinearBackwardInputScalar(dz, w, dxScalar, batch, k, n);
      const what = `backward ${batch}×${k}→${n}`;
      expectSameBits(readF32(dwSimd, n * k), readF32(dwScalar, n * k), `${what} dW`);
      expectSameBits(readF32(dbSimd, n), readF32(dbScalar, n), `${what} dBias`);
      expectSameBits(readF32(dxSimd, batch * k), readF32(dxScalar, batch * k), `${what} dX`);
      free();
    }
  });
});

/** Runs `call` with operand `role` of `arrays` placed to end exactly at the end of linear memory (in a page grown
 *  here, which the allocator never hands out) and the others in blocks; returns the operands' floats after. */
function atMemoryEnd(arrays: Float32Array[], role: number, call: (ptrs: number[]) => void): Float32Array[] {
  const others = inWasm(...arrays.map((a, i) => (i === role ? [0] : a)));
  core.memory.grow(1);
  const end = core.memory.buffer.byteLength;
  const ptrs = [...others.ptrs];
  ptrs[role] = end - arrays[role].length * 4;
  new Float32Array(core.memory.buffer, ptrs[role], arrays[role].length).set(arrays[role]);
  try {
    call(ptrs);
    // (read through the memory's own buffer: the library's cached views predate this growth)
    return arrays.map((a, i) => new Float32Array(core.memory.buffer, ptrs[i], a.length).slice());
  } finally {
    others.free();
  }
}

describe('small-network kernels touch only their operands', () => {
  // each operand in turn ends at the end of memory: a read or write past it traps (a RuntimeError fails the test)
  const shapes: [number, number, number][] = [];
  for (const batch of [1, 2, 5]) for (const k of [1, 2, 3, 5, 10]) for (const n of [1, 2, 3, 5, 10]) shapes.push([batch, k, n]);

  it('forward, dW / dBias and dX, with each operand at the end of memory', () => {
    for (const [batch, k, n] of shapes) {
      const forward = [values(batch * k), values(n * k), values(n), new Float32Array(batch * n)];
      const backward = [values(batch * n), values(batch * k), new Float32Array(n * k), new Float32Array(n)];
      const input = [values(batch * n), values(n * k), new Float32Array(batch * k)];
      const expected = {
        forward: atMemoryEnd(forward, 0, ([x, w, b, z]) =>
          (k < 4 ? core.smallLinearForwardShortKScalar : core.smallLinearForwardDotScalar)(x, w, b, z, batch, k, n),
        )[3],
        backward: atMemoryEnd(backward, 0, ([dz, x, dw, db]) => core.smallLinearBackwardParamsScalar(dz, x, dw, db, batch, k, n)),
        input: atMemoryEnd(input, 0, ([dz, w, dx]) => core.smallLinearBackwardInputScalar(dz, w, dx, batch, k, n))[2],
      };
      const what = `${batch}×${k}→${n}`;
      for (let role = 0; role < 4; role++) {
        const z = atMemoryEnd(forward, role, ([x, w, b, out]) =>
          (k < 4 ? core.smallLinearForwardShortK : core.smallLinearForwardDot)(x, w, b, out, batch, k, n),
        )[3];
        expectSameBits(z, expected.forward, `forward ${what}, operand ${role} at the end`);
        const [, , dw, db] = atMemoryEnd(backward, role, ([dz, x, gw, gb]) =>
          core.smallLinearBackwardParams(dz, x, gw, gb, batch, k, n),
        );
        expectSameBits(dw, expected.backward[2], `dW ${what}, operand ${role} at the end`);
        expectSameBits(db, expected.backward[3], `dBias ${what}, operand ${role} at the end`);
      }
      for (let role = 0; role < 3; role++) {
        const dx = atMemoryEnd(input, role, ([dz, w, out]) => core.smallLinearBackwardInput(dz, w, out, batch, k, n))[2];
        expectSameBits(dx, expected.input, `dX ${what}, operand ${role} at the end`);
      }
    }
  });
});
