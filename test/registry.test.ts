// The boundary and the registries: the generated export types against the built modules, and every kind of
// the registries through what a user does with it — build with each option shape, refuse bad options by
// name, save and load, train in a worker — with no test code per kind.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BackpropError,
  Linear,
  type Loss,
  Network,
  type Optimizer,
  createTrainer,
  init,
  LAYERS,
  SCHEDULERS,
  type Layer,
} from '../src/index';
import { coreExportArity, testExportArity } from '../src/generated/core-exports';
import { encodeSafetensors } from '../src/serialize';
import { type OptionSpec } from '../src/options';
import * as ref from './reference';
import {
  activationTypes,
  layerClass,
  lossClass,
  lossTypes,
  optimizerClass,
  optimizerTypes,
  randomNetwork,
  sampleOptions,
} from './kinds';

await init();
const root = resolve(__dirname, '..');
const random = ref.testRandom(99);

describe('the generated boundary', () => {
  const exportsOf = (file: string) => {
    const module = new WebAssembly.Module(readFileSync(resolve(root, file)));
    const instance = new WebAssembly.Instance(module, {});
    return Object.fromEntries(
      Object.entries(instance.exports).filter(([, value]) => typeof value === 'function') as [
        string,
        (...a: never[]) => unknown,
      ][],
    );
  };

  it('the release core exports exactly the functions CoreExports declares, with their arity', () => {
    const functions = exportsOf('build/backprop.wasm');
    expect(Object.keys(functions).sort()).toEqual(Object.keys(coreExportArity).sort());
    for (const [name, arity] of Object.entries(coreExportArity)) expect(functions[name].length, name).toBe(arity);
  });

  it('the relaxed core exports the same; the test build adds only the kernels TestCoreExports declares', () => {
    // Node 20 compiles the relaxed core only behind a flag: list its exports in a process that has it
    const relaxed = JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--experimental-wasm-relaxed-simd',
          '-e',
          `const m = new WebAssembly.Module(require('fs').readFileSync(${JSON.stringify(resolve(root, 'build/backprop-relaxed.wasm'))}));
           console.log(JSON.stringify(WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e) => e.name)))`,
        ],
        { encoding: 'utf8' },
      ),
    );
    expect(relaxed.sort()).toEqual(Object.keys(coreExportArity).sort());
    const test = exportsOf('build/backprop-test.wasm');
    expect(Object.keys(test).sort()).toEqual([...Object.keys(coreExportArity), ...Object.keys(testExportArity)].sort());
    for (const [name, arity] of Object.entries(testExportArity)) expect(test[name].length, name).toBe(arity);
  });

  it('no integer kernel id or struct offset is typed by hand in src/ outside the typed kernel module', () => {
    const sources = readdirSync(resolve(root, 'src')).filter((f) => f.endsWith('.ts') && f !== 'kernel.ts');
    for (const file of sources) {
      const text = readFileSync(resolve(root, 'src', file), 'utf8');
      expect(text, file).not.toMatch(/generated\/abi/);
      expect(text, file).not.toMatch(/(kind|kernel|status|reduction)(Code)?\s*(===|!==|=)\s*\d/i);
    }
  });
});

/** Values an option must refuse, by its declared shape, with the error code each gets. */
function badValues(spec: OptionSpec<unknown>): [unknown, string][] {
  const takes = spec.takes;
  switch (takes.type) {
    case 'number': {
      const { min, max, above, below, integer } = takes.rule;
      const bad: [unknown, string][] = [
        [NaN, 'BAD_OPTION'],
        [Infinity, 'BAD_OPTION'],
        ['1', 'BAD_OPTION'],
      ];
      if (min !== undefined) bad.push([min - 1, 'BAD_OPTION']);
      if (above !== undefined) bad.push([above, 'BAD_OPTION']);
      if (max !== undefined) bad.push([max + 1, 'BAD_OPTION']);
      if (below !== undefined) bad.push([below, 'BAD_OPTION']);
      if (integer) bad.push([1.5, 'BAD_OPTION']);
      return bad;
    }
    case 'boolean':
      return [
        ['yes', 'BAD_OPTION'],
        [1, 'BAD_OPTION'],
      ];
    case 'oneOf':
      return [
        ['bogus', 'BAD_OPTION'],
        [3, 'BAD_OPTION'],
      ];
    case 'pair':
      return [
        [[0.9], 'BAD_OPTION'],
        [[2, 0.5], 'BAD_OPTION'],
        [0.9, 'BAD_OPTION'],
      ];
    case 'floatArray':
      return [
        [[1, NaN], 'NON_FINITE'],
        ['weights', 'BAD_OPTION'],
      ];
    case 'instance':
      return [[{}, 'BAD_OPTION']];
    case 'integerList':
      return [
        [[1.5], 'BAD_OPTION'],
        ['3', 'BAD_OPTION'],
        [[-1], 'BAD_OPTION'],
      ];
  }
}

function refusal(make: () => unknown): BackpropError | null {
  try {
    make();
  } catch (error) {
    if (error instanceof BackpropError) return error;
    throw error;
  }
  return null;
}

describe('every kind refuses bad options, naming the option, what was expected and what came', () => {
  const kinds: [string, (options: unknown) => unknown, Record<string, OptionSpec<unknown>>][] = [
    ...activationTypes.map((type): [string, (o: unknown) => unknown, Record<string, OptionSpec<unknown>>] => [
      type,
      (o) => new (layerClass(type))(o),
      layerClass(type).kind.options,
    ]),
    ...lossTypes.map((type): [string, (o: unknown) => unknown, Record<string, OptionSpec<unknown>>] => [
      type,
      (o) => new (lossClass(type))(o),
      lossClass(type).kind.options,
    ]),
    ...optimizerTypes.map((type): [string, (o: unknown) => unknown, Record<string, OptionSpec<unknown>>] => {
      const net = new Network([new Linear(2, 2)]);
      return [type, (o) => new (optimizerClass(type))(net.parameters(), o), optimizerClass(type).kind.options];
    }),
    ...Object.keys(SCHEDULERS).map((type): [string, (o: unknown) => unknown, Record<string, OptionSpec<unknown>>] => {
      const cls = (
        SCHEDULERS as unknown as Record<
          string,
          { kind: { options: Record<string, OptionSpec<unknown>> } } & (new (...a: unknown[]) => unknown)
        >
      )[type];
      const net = new Network([new Linear(2, 2)]);
      return [
        type,
        (o) => new cls(new (optimizerClass('SGD'))(net.parameters(), { lr: 0.1, momentum: 0.9 }), o),
        cls.kind.options,
      ];
    }),
  ];
  for (const [type, make, specs] of kinds) {
    it(type, () => {
      for (const [option, spec] of Object.entries(specs)) {
        for (const [value, code] of badValues(spec)) {
          const error = refusal(() => make({ [option]: value }));
          expect(error, `${type} ${option} = ${String(value)} was accepted`).not.toBeNull();
          expect(error!.code, `${type} ${option} = ${String(value)}: ${error!.message}`).toBe(code);
          expect(error!.message).toContain(option);
        }
      }
      expect(refusal(() => make({ notAnOption: 1 }))?.message).toMatch(new RegExp(`unknown ${type} option "notAnOption"`));
      expect(refusal(() => make('options'))?.code).toBe('BAD_OPTION');
    });
  }

  it('rules across options: Hardtanh maxVal > minVal, Nesterov needs momentum and no dampening', () => {
    expect(refusal(() => new (layerClass('Hardtanh'))({ minVal: 1, maxVal: 1 }))?.message).toMatch(/maxVal > minVal/);
    const net = new Network([new Linear(2, 2)]);
    expect(refusal(() => new (optimizerClass('SGD'))(net.parameters(), { nesterov: true }))?.message).toMatch(/momentum > 0/);
    net.dispose();
  });
});

describe('every layer kind saves and loads (safetensors and JSON) with its options', () => {
  for (const type of activationTypes) {
    it(type, () => {
      for (const options of sampleOptions(layerClass(type), random, 2)) {
        const net = randomNetwork([3, 5, 2], [{ type, options }, null], 7);
        const x = ref.randomArray(random, 12);
        const out = net.forward(x);
        for (const copy of [Network.load(net.save()), Network.fromJSON(JSON.stringify(net))]) {
          expect(copy.forward(x)).toEqual(out);
          expect(String(copy)).toBe(String(net));
          const layer = copy.layers[1] as Layer & { options: object };
          expect(layer).toBeInstanceOf(layerClass(type));
          expect(layer.options).toEqual((net.layers[1] as Layer & { options: object }).options);
          copy.dispose();
        }
        net.dispose();
      }
    });
  }

  it('a file naming a kind this version does not know is CORRUPT_FILE naming the kind, and builds nothing', () => {
    const net = new Network([new Linear(2, 2)], { seed: 1 });
    const [weight, bias] = net.parameters();
    const file = encodeSafetensors(
      [
        ['0.weight', { shape: [2, 2], data: weight.data.slice() }],
        ['0.bias', { shape: [2], data: bias.data.slice() }],
      ],
      {
        format: 'backprop-wasm',
        version: '1',
        layers: JSON.stringify([{ type: 'Linear', inFeatures: 2, outFeatures: 2, bias: true }, { type: 'Mish' }]),
      },
    );
    const error = refusal(() => Network.load(file));
    expect(error?.code).toBe('CORRUPT_FILE');
    expect(error?.message).toMatch(/layers\[1\] has unknown type "Mish"/);
    const badOptions = encodeSafetensors([], {
      format: 'backprop-wasm',
      version: '1',
      layers: JSON.stringify([{ type: 'ELU', alpha: 'big' }]),
    });
    expect(refusal(() => Network.load(badOptions))?.message).toMatch(/layers\[0\] is not a valid ELU: expected ELU alpha/);
    net.dispose();
    expect(Object.keys(LAYERS)).toContain('ELU');
  });
});

describe('every optimizer kind checkpoints its state and resumes bit for bit', () => {
  for (const type of optimizerTypes) {
    it(type, () => {
      for (const options of sampleOptions(optimizerClass(type), random, 2)) {
        const make = () => new Network([new Linear(3, 4), new (layerClass('Tanh'))(), new Linear(4, 2)], { seed: 3 });
        const x = ref.randomArray(random, 9),
          y = ref.randomArray(random, 6);
        const mse = new (lossClass('MSELoss'))();
        const straight = make();
        const opt = new (optimizerClass(type))(straight.parameters(), options) as Optimizer;
        for (let i = 0; i < 3; i++) straight.trainStep(x, y, mse, opt);
        const { network, optimizer } = Network.loadCheckpoint(straight.save({ optimizer: opt }));
        expect(optimizer!.stateNames).toEqual(opt.stateNames);
        for (let i = 0; i < 4; i++) {
          straight.trainStep(x, y, mse, opt);
          network.trainStep(x, y, mse, optimizer!);
        }
        expect(network.parameters().map((p) => Array.from(p.data))).toEqual(straight.parameters().map((p) => Array.from(p.data)));
        straight.dispose();
        network.dispose();
      }
    });
  }
});

describe('every loss and optimizer kind trains in a worker as on this thread', () => {
  const trainer = { net: null as Network | null };
  const cases = [
    ...lossTypes.map((type) => ({ loss: type, optimizer: 'SGD' })),
    ...optimizerTypes.map((type) => ({ loss: 'MSELoss', optimizer: type })),
  ];
  for (const { loss: lossType, optimizer: optimizerType } of cases) {
    it(`${lossType} with ${optimizerType}`, async () => {
      const lossOptions = sampleOptions(lossClass(lossType), random, 1, { classes: 3 })[1] ?? {};
      delete lossOptions.ignoreIndex; // labels below are all in range; probabilities refuse it
      const optimizerOptions = { ...(sampleOptions(optimizerClass(optimizerType), random, 1)[1] ?? {}), lr: 0.01 };
      const cls = lossClass(lossType);
      const takes = (cls.kind as { takes?: string }).takes;
      const head =
        takes === 'probabilities'
          ? [new (layerClass('Sigmoid'))()]
          : takes === 'log-probabilities'
            ? [new (layerClass('LogSoftmax'))()]
            : [];
      const make = () => new Network([new Linear(2, 3), ...head], { seed: 4 });
      const x = ref.randomArray(random, 16);
      const kernels = cls.kind.kernels as { classes?: string };
      const y = kernels.classes
        ? Int32Array.from({ length: 8 }, (_, i) => i % 3)
        : Float32Array.from({ length: 24 }, () => random());
      const here = make(),
        there = make();
      const options = { epochs: 3, batchSize: 4, seed: 1 };
      await here.fit(x, y, {
        ...options,
        loss: new cls(lossOptions) as Loss,
        optimizer: new (optimizerClass(optimizerType))(here.parameters(), optimizerOptions),
      });
      const worker = createTrainer(there);
      await worker.fit(x, y, {
        ...options,
        loss: { type: lossType, ...lossOptions } as never,
        optimizer: { type: optimizerType, ...optimizerOptions } as never,
      });
      worker.terminate();
      expect(there.parameters().map((p) => Array.from(p.data))).toEqual(here.parameters().map((p) => Array.from(p.data)));
      here.dispose();
      there.dispose();
      trainer.net = null;
    });
  }
});
