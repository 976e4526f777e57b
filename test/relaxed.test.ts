// The opt-in relaxed-SIMD core: refused clearly where the engine lacks it, trains like the plain core
// (to float32 rounding, not bit for bit) where it runs.
import { runModule } from './node-child';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init } from '../src/index';

const dist = JSON.stringify(resolve(__dirname, '../dist/index.js'));
const seedExperiment = (simd: string) => `
  import { init, Network, Linear, Relu, MSELoss, SGD } from ${dist};
  import { makeRegressionLikeSklearn } from ${JSON.stringify(resolve(__dirname, '../examples/sklearn-regression.mjs'))};
  try {
    await init({ simd: '${simd}' });
  } catch (error) {
    console.log(JSON.stringify({ error: error.message, code: error.code }));
    process.exit(0);
  }
  const { x, y } = makeRegressionLikeSklearn({ samples: 100, noise: 10, randomState: 3 });
  const net = new Network([new Linear(1, 64), new Relu(), new Linear(64, 64), new Relu(), new Linear(64, 1)], { seed: 3 });
  const opt = new SGD(net.parameters(), { lr: 0.001 });
  const losses = [];
  for (let i = 0; i < 50; i++) losses.push(net.trainStep(x, y, new MSELoss(), opt));
  console.log(JSON.stringify({ losses }));`;

function run(simd: string, flags: string[] = []) {
  return JSON.parse(runModule(seedExperiment(simd), flags));
}

describe("init({ simd: 'relaxed' })", () => {
  it('is refused with a clear error where the engine has no relaxed SIMD (Node 20 without its flag)', () => {
    const result = run('relaxed');
    expect(result.code).toBe('BAD_OPTION');
    expect(result.error).toMatch(/does not run relaxed SIMD \(Node 20 needs --experimental-wasm-relaxed-simd/);
  });

  it('trains the same network as the plain core, to float32 rounding, where the engine runs it', () => {
    const plain = run('plain').losses as number[];
    const relaxed = run('relaxed', ['--experimental-wasm-relaxed-simd']).losses as number[];
    expect(relaxed).toHaveLength(50);
    relaxed.forEach((loss, i) => expect(Math.abs(loss - plain[i]) / plain[i]).toBeLessThan(1e-3));
    expect(relaxed[49]).toBeLessThan(relaxed[0] / 5);
  });

  it('cannot switch flavour once initialised, and checks its options', async () => {
    await init();
    await expect(init({ simd: 'relaxed' })).rejects.toThrow(/already initialised with plain SIMD/);
    await expect(init({ simd: 'fast' as never })).rejects.toThrow(/'plain' or 'relaxed'/);
    await expect(init({ thread: 2 } as never)).rejects.toThrow(/unknown init option "thread"; expected simd or threads/);
    await expect(init({ threads: 2 })).rejects.toThrow(/already initialised with threads: 1/);
  });
});
