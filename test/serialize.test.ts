// toJSON/fromJSON and safetensors save/load: exact round trips, the file layout of the specification,
// files written the way PyTorch writes them, checkpoints, and corrupt files.
import { describe, expect, it } from 'vitest';
import {
  Adam,
  BackpropError,
  CrossEntropyLoss,
  LeakyRelu,
  Linear,
  MSELoss,
  Network,
  Relu,
  SGD,
  Sigmoid,
  Softmax,
  Tanh,
  init,
} from '../src/index';
import * as ref from './reference';

await init();

const build = (seed = 1) =>
  new Network(
    [
      new Linear(3, 5),
      new Relu(),
      new Linear(5, 4, { bias: false }),
      new LeakyRelu(0.2),
      new Linear(4, 4),
      new Tanh(),
      new Linear(4, 2),
      new Sigmoid(),
    ],
    { seed },
  );
const weights = (net: Network) => net.parameters().map((p) => Array.from(p.data));
const x = ref.randomArray(ref.testRandom(3), 6 * 3);

/** A safetensors file assembled here from the format's specification, as safetensors.torch.save_file does. */
function safetensorsFile(tensors: [string, string, number[], Uint8Array][], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, dtype, shape, bytes] of tensors) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  let at = 8 + json.length;
  for (const [, , , bytes] of tensors) {
    file.set(bytes, at);
    at += bytes.length;
  }
  return file;
}

function encode(values: ArrayLike<number>, dtype: 'F32' | 'F64' | 'BF16'): Uint8Array {
  const size = { F32: 4, F64: 8, BF16: 2 }[dtype];
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === 'F32') view.setFloat32(i * 4, values[i], true);
    else if (dtype === 'F64') view.setFloat64(i * 8, values[i], true);
    else {
      const f = new DataView(new ArrayBuffer(4));
      f.setFloat32(0, values[i]);
      view.setUint16(i * 2, f.getUint32(0) >>> 16, true);
    }
  }
  return out;
}

describe('round trips', () => {
  it('save → load is bit-exact and keeps the architecture', () => {
    const net = build();
    const loaded = Network.load(net.save());
    expect(String(loaded)).toBe(String(net));
    expect(weights(loaded)).toEqual(weights(net));
    expect(loaded.forward(x)).toEqual(net.forward(x));
  });

  it('toJSON → JSON text → fromJSON is bit-exact', () => {
    const net = build(2);
    const text = JSON.stringify(net);
    const loaded = Network.fromJSON(text);
    expect(weights(loaded)).toEqual(weights(net));
    expect(Network.fromJSON(net.toJSON()).forward(x)).toEqual(net.forward(x));
    expect(JSON.parse(text).layers[0]).toEqual({ type: 'Linear', inFeatures: 3, outFeatures: 5, bias: true });
  });

  it('a Softmax network round-trips too', () => {
    const net = new Network([new Linear(2, 3), new Softmax()], { seed: 4 });
    expect(Network.load(net.save()).forward([[1, 2]])).toEqual(net.forward([[1, 2]]));
  });
});

describe('the safetensors layout', () => {
  it('follows the specification: u64 LE header size, JSON header, contiguous F32 LE data', () => {
    const net = build(3);
    const file = net.save();
    const view = new DataView(file.buffer, file.byteOffset);
    const headerSize = Number(view.getBigUint64(0, true));
    expect(8 + headerSize).toBeLessThan(file.length);
    expect((8 + headerSize) % 8).toBe(0);
    const headerText = new TextDecoder().decode(file.subarray(8, 8 + headerSize));
    expect(headerText[0]).toBe('{');
    const header = JSON.parse(headerText);
    expect(header.__metadata__.format).toBe('backprop-wasm');
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names).toEqual(['0.weight', '0.bias', '2.weight', '4.weight', '4.bias', '6.weight', '6.bias']);
    let expectedOffset = 0;
    for (const p of net.parameters()) {
      const entry = header[p.name];
      expect(entry.dtype).toBe('F32');
      expect(entry.shape).toEqual(p.shape);
      expect(entry.data_offsets).toEqual([expectedOffset, expectedOffset + p.size * 4]);
      const start = 8 + headerSize + expectedOffset;
      for (let i = 0; i < p.size; i++) expect(view.getFloat32(start + 4 * i, true)).toBe(p.data[i]);
      expectedOffset += p.size * 4;
    }
    expect(8 + headerSize + expectedOffset).toBe(file.length);
  });

  it('loads weights from a file written as PyTorch writes a state_dict (no metadata; F32, F64, BF16)', () => {
    const net = new Network([new Linear(2, 3), new Relu(), new Linear(3, 1)]);
    const w0 = [0.5, -1, 2, 0.25, -0.75, 1.5],
      b0 = [0.125, 0, -0.5],
      w2 = [1, -2, 0.5],
      b2 = [3];
    const file = safetensorsFile([
      ['0.bias', 'F64', [3], encode(b0, 'F64')],
      ['0.weight', 'F32', [3, 2], encode(w0, 'F32')],
      ['2.bias', 'BF16', [1], encode(b2, 'BF16')],
      ['2.weight', 'F32', [1, 3], encode(w2, 'F32')],
    ]);
    net.loadWeights(file);
    expect(weights(net)).toEqual([w0, b0, w2, b2]);
    expect(() => Network.load(file)).toThrow(/no backprop-wasm architecture.*loadWeights/);
  });
});

describe('checkpoints', () => {
  for (const [name, makeOptimizer] of [
    ['SGD with Nesterov momentum', (n: Network) => new SGD(n.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true })],
    ['Adam', (n: Network) => new Adam(n.parameters(), { lr: 0.01, weightDecay: 0.001 })],
  ] as const) {
    it(`${name}: training resumed from a checkpoint follows the uninterrupted run bit for bit`, () => {
      const net = build(5);
      const optimizer = makeOptimizer(net);
      const target = ref.randomArray(ref.testRandom(8), 6 * 2).map((v) => (v + 1) / 2);
      const mse = new MSELoss();
      for (let i = 0; i < 5; i++) net.trainStep(x, target, mse, optimizer);
      const restored = Network.loadCheckpoint(net.save({ optimizer }));
      expect(restored.optimizer!.constructor).toBe(optimizer.constructor);
      expect(restored.optimizer!.stepCount).toBe(5);
      for (let i = 0; i < 5; i++) {
        expect(restored.network.trainStep(x, target, mse, restored.optimizer!)).toBe(net.trainStep(x, target, mse, optimizer));
      }
      expect(weights(restored.network)).toEqual(weights(net));
      expect(Network.load(net.save({ optimizer })).parameters()).toHaveLength(7); // load() ignores the state
    });
  }

  it('needs the optimizer to cover the network', () => {
    const net = build();
    const partial = new SGD(net.parameters().slice(1), { lr: 0.1 });
    expect(() => net.save({ optimizer: partial })).toThrow(/exactly this network's parameters/);
    expect(Network.loadCheckpoint(net.save()).optimizer).toBeNull();
  });
});

describe('corrupt files', () => {
  const good = build(6).save();

  function expectCorrupt(bytes: unknown, message: RegExp) {
    let error: unknown;
    try {
      Network.load(bytes as Uint8Array);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackpropError);
    expect((error as Error).message).toMatch(message);
  }

  it('every truncation of a file gets a clear error', () => {
    for (let length = 0; length < good.length; length += 1 + Math.floor(length / 50)) {
      let error: unknown;
      try {
        Network.load(good.subarray(0, length));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BackpropError);
      expect((error as BackpropError).code).toBe('CORRUPT_FILE');
    }
  });

  it('names what is wrong', () => {
    /** A file with this header followed by 8 data bytes. */
    const header = (h: object) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const file = new Uint8Array(8 + json.length + 8);
      new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
      file.set(json, 8);
      return file;
    };
    expectCorrupt(new Uint8Array(3), /at least 8 bytes/);
    expectCorrupt([1, 2, 3], /Uint8Array/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expectCorrupt(huge, /header claims/);
    const notJson = good.slice();
    notJson[9] = 0x7b;
    notJson[10] = 0x7b;
    expectCorrupt(notJson, /not valid UTF-8 JSON/);
    expectCorrupt(header({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }), /dtype "?I64|dtype the string "I64"/);
    expectCorrupt(header({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), /does not hold 3 F32 values/);
    expectCorrupt(
      header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }),
      /without gaps or overlaps/,
    );
    expectCorrupt(
      header({ __metadata__: { format: 1 }, a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }),
      /metadata values are strings/,
    );
    const nan = safetensorsFile(
      [
        ['0.weight', 'F32', [1, 1], encode([NaN], 'F32')],
        ['0.bias', 'F32', [1], encode([0], 'F32')],
      ],
      { format: 'backprop-wasm', layers: JSON.stringify([{ type: 'Linear', inFeatures: 1, outFeatures: 1, bias: true }]) },
    );
    expectCorrupt(nan, /finite numbers in 0\.weight, got NaN/);
    const unchained = safetensorsFile(
      [
        ['0.weight', 'F32', [1, 1], encode([1], 'F32')],
        ['1.weight', 'F32', [1, 2], encode([1, 1], 'F32')],
      ],
      {
        format: 'backprop-wasm',
        layers: JSON.stringify([
          { type: 'Linear', inFeatures: 1, outFeatures: 1, bias: false },
          { type: 'Linear', inFeatures: 2, outFeatures: 1, bias: false },
        ]),
      },
    );
    expectCorrupt(unchained, /do not form a network.*expects 2 inputs/);
    expectCorrupt(safetensorsFile([], { format: 'backprop-wasm', layers: '[{"type":"Conv2d"}]' }), /unknown type "Conv2d"/);
  });

  it('loadWeights with a mismatching file leaves the weights unchanged', () => {
    const net = build(7);
    const before = weights(net);
    const other = new Network([
      new Linear(3, 5),
      new Relu(),
      new Linear(5, 4, { bias: false }),
      new LeakyRelu(),
      new Linear(4, 4),
      new Tanh(),
      new Linear(4, 3),
    ]).save();
    expect(() => net.loadWeights(other)).toThrow(/"6\.weight" has shape \[3,4\], expected \[2,4\]/);
    expect(() => net.loadWeights(new Network([new Linear(3, 5)]).save())).toThrow(/no tensor "2\.weight"/);
    expect(weights(net)).toEqual(before);
  });

  it('random byte mutations never crash, hang or load garbage silently (500 seeded mutants)', () => {
    const random = ref.testRandom(77);
    let loaded = 0,
      rejected = 0;
    for (let trial = 0; trial < 500; trial++) {
      const mutant = good.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) mutant[Math.floor(random() * mutant.length)] = Math.floor(random() * 256);
      try {
        const net = Network.load(mutant);
        expect(net.parameters().every((p) => p.data.every(Number.isFinite))).toBe(true);
        net.dispose();
        loaded++;
      } catch (error) {
        expect(error).toBeInstanceOf(BackpropError);
        rejected++;
      }
    }
    expect(loaded + rejected).toBe(500);
    expect(rejected).toBeGreaterThan(0);
  });

  it('fromJSON rejects wrong formats with CORRUPT_FILE', () => {
    const json = build().toJSON();
    expect(() => Network.fromJSON('{')).toThrow(/does not parse/);
    expect(() => Network.fromJSON({ ...json, format: 'keras' } as never)).toThrow(/expected format/);
    expect(() =>
      Network.fromJSON({ ...json, parameters: { ...json.parameters, '0.bias': { shape: [5], data: [1, 2] } } }),
    ).toThrow(/needs 5 numbers/);
    expect(() => Network.fromJSON({ ...json, layers: [] })).toThrow(/non-empty array of layers/);
  });
});

it('a trained classifier evaluates the same after a save/load round trip', async () => {
  const net = new Network([new Linear(3, 6), new Relu(), new Linear(6, 3)], { seed: 11 });
  const labels = Int32Array.from({ length: 6 }, (_, i) => i % 3);
  await net.fit(x, labels, {
    loss: new CrossEntropyLoss(),
    optimizer: new SGD(net.parameters(), { lr: 0.1 }),
    epochs: 5,
    batchSize: 2,
  });
  expect(Network.load(net.save()).evaluate(x, labels, new CrossEntropyLoss())).toEqual(
    net.evaluate(x, labels, new CrossEntropyLoss()),
  );
});
