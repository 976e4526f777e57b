// The library's registries, as the suites iterate them: every layer, loss and optimizer kind, with options
// sampled from each kind's own declaration (rule, values, default), so a new kind is tested without new
// test code. Also the float64 reference of a built network.
import { LAYERS, LOSSES, OPTIMIZERS, SCHEDULERS, Activation, Linear, Network, type Layer, type LayerKind } from '../src/index';
import { getCore } from '../src/core';
import { layerScratchElementPart } from '../src/kernel';
import { networkSession } from '../src/network';
import { type OptionSpec, readOptions } from '../src/options';
import { buildLayer } from '../src/registry';
import * as ref from './reference';

type AnySpecs = Record<string, OptionSpec<unknown>>;
/* eslint-disable @typescript-eslint/no-explicit-any -- registries hold classes of every option type */
type AnyClass = {
  kind: {
    type: string;
    options: AnySpecs;
    validate?(o: any): void;
    kernels?: any;
    positional?: readonly string[];
    required?: readonly string[];
    length?(o: any): number;
    interval?: 'epoch' | 'batch';
    takesMetric?: boolean;
  };
} & (new (...args: any[]) => any);
/* eslint-enable @typescript-eslint/no-explicit-any */

export const layerClass = (type: string) => (LAYERS as unknown as Record<string, AnyClass>)[type];
export const lossClass = (type: string) => (LOSSES as unknown as Record<string, AnyClass>)[type];
export const optimizerClass = (type: string) => (OPTIMIZERS as unknown as Record<string, AnyClass>)[type];
export const schedulerClass = (type: string) => (SCHEDULERS as unknown as Record<string, AnyClass>)[type];

/** Activations: element-wise or per-row kernels without state (a = σ(z)). */
export const activationTypes = Object.keys(LAYERS).filter((type) => layerClass(type).prototype instanceof Activation);
/** The other layers that keep the width: with state of their own (LayerNorm, BatchNorm1d) or a mask (Dropout). */
export const moduleTypes = Object.keys(LAYERS).filter((type) => type !== 'Linear' && !activationTypes.includes(type));
/** Every layer kind but Linear. */
export const widthKeepingTypes = [...activationTypes, ...moduleTypes];
export const lossTypes = Object.keys(LOSSES);
export const optimizerTypes = Object.keys(OPTIMIZERS);
export const schedulerTypes = Object.keys(SCHEDULERS);

/** A width-keeping layer of `type` for rows of `width` (a kind with one positional option takes the width
 *  there: LayerNorm's normalizedShape, BatchNorm1d's numFeatures). */
export function makeLayer(type: string, width: number, options: Record<string, unknown> = {}): Layer {
  const sizeOption = layerClass(type).kind.positional;
  const sized = sizeOption?.length === 1 ? { [sizeOption[0]]: width } : {};
  return buildLayer({ type, ...options, ...sized });
}

/** Whether a layer kind is random in training mode (its train-mode outputs need its mask). */
export const isStochastic = (type: string) => type === 'Dropout';

/** The Dropout mask (0 or the scale per element) that layer k drew in the last training-mode pass of `batch`
 *  rows, read from the plan's scratch (the layout of abi.json's "scratch"). */
export function dropoutMask(net: Network, k: number, batch: number): Float32Array {
  const plan = networkSession(net, 'a test', 'read').plan;
  const width = widthOf(net, k + 1);
  const at = plan.scratch(k) + 4 * layerScratchElementPart('Dropout', 0, batch, width);
  return new Float32Array(getCore().memory.buffer, at, batch * width).slice();
}

/** The width after layer k − 1 (k = 0: the input). */
export function widthOf(net: Network, k: number): number {
  return networkSession(net, 'a test', 'read').widths[k];
}

export interface SampleContext {
  /** Classes of the predictions, for per-class options (a loss's weight). */
  classes?: number;
}

/** One value an option may take: its default, or a random one within its rule. */
function sampleValue(spec: OptionSpec<unknown>, random: () => number, ctx: SampleContext): unknown {
  const takes = spec.takes;
  switch (takes.type) {
    case 'boolean':
      return random() < 0.5;
    case 'oneOf':
      return takes.values[Math.floor(random() * takes.values.length)];
    case 'floatArray':
      return ctx.classes ? Float32Array.from({ length: ctx.classes }, () => 0.2 + 2 * random()) : undefined;
    case 'integerList':
      // a few steps, unsorted, sometimes repeated
      return Array.from({ length: 1 + Math.floor(random() * 4) }, () => 1 + Math.floor(random() * 60));
    case 'instance':
      return undefined;
    case 'pair':
      return [0.5 + 0.45 * random(), 0.9 + 0.099 * random()];
    case 'number': {
      const { min, max, above, below, integer } = takes.rule;
      const typical = (spec.example ?? spec.default) as number | undefined;
      const low = min ?? above,
        high = max ?? below;
      if (integer) {
        // integers without bounds (ignoreIndex): the default or a small class index
        if (low === undefined) return random() < 0.5 ? spec.default : Math.floor(random() * (ctx.classes ?? 2));
        return Math.max(low + (above !== undefined ? 1 : 0), Math.round((typical ?? 0) * (0.5 + random())));
      }
      if (low !== undefined && high !== undefined) {
        // within the bounds, around the default: from halfway down to halfway up (a user's range, not the
        // corners, where e.g. RMSprop with alpha near 0 turns into sign descent)
        const d = typeof typical === 'number' ? typical : (low + high) / 2;
        const from = (low + d) / 2,
          to = (d + high) / 2;
        return from + (to - from) * random();
      }
      // around the default; an option off by default (0) gets a modest value, as a user would turn it on
      const base = typeof typical === 'number' && typical !== 0 ? typical : 0.2;
      const value = base * (0.3 + 1.4 * random());
      return low !== undefined && value <= low ? low + Math.abs(base) * random() + 1e-3 : value;
    }
  }
}

/** Option sets for a kind: the defaults, and `count` random ones that its validation accepts. */
export function sampleOptions(
  cls: AnyClass,
  random: () => number,
  count = 3,
  ctx: SampleContext = {},
): Record<string, unknown>[] {
  const specs = cls.kind.options;
  const sets: Record<string, unknown>[] = [{}];
  for (let attempt = 0; sets.length <= count && attempt < 50 * count; attempt++) {
    const options: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(specs)) {
      const value = sampleValue(spec, random, ctx);
      if (value !== undefined) options[key] = value;
    }
    try {
      cls.kind.validate?.(readOptions(cls.kind.type, specs, options));
      sets.push(options);
    } catch {
      // rejected by a rule across options (e.g. Hardtanh's maxVal > minVal): draw again
    }
  }
  return sets;
}

/** Options an activation layer is really using (defaults filled in). */
export function activationOptions(layer: Layer): Record<string, unknown> {
  return { ...(layer as Activation<object>).options };
}

/** The float64 reference layers holding a copy of the network's current (float32) parameters and buffers,
 *  in its current mode; `batch`: the rows of the last training-mode pass, whose Dropout masks the reference
 *  uses. */
export function referenceOf(net: Network, batch = 0): ref.RefLayer[] {
  return net.layers.map((layer, k) => {
    if (layer instanceof Linear) {
      return {
        kind: 'linear',
        inF: layer.inFeatures,
        outF: layer.outFeatures,
        weight: Float64Array.from(layer.weight),
        bias: layer.bias ? Float64Array.from(layer.bias) : null,
      };
    }
    const type = (layer.kind as LayerKind).type;
    if (moduleTypes.includes(type)) {
      const state: ref.ModuleState = {
        params: Object.fromEntries(layer.parameters().map((p) => [p.name, Float64Array.from(p.data)])),
        buffers: Object.fromEntries(layer.buffers().map((b) => [b.name, Float64Array.from(b.data as Float32Array, Number)])),
        training: net.training,
      };
      if (isStochastic(type) && net.training && batch > 0) state.mask = dropoutMask(net, k, batch);
      return { kind: 'module', type, module: ref.moduleRef(type, activationOptions(layer), state) };
    }
    return { kind: 'activation', type, act: ref.activationRef(type, activationOptions(layer)) };
  });
}

/** A network: `widths` are the layer sizes, each Linear followed by the given activation (type and
 *  options, or null for none). */
export function randomNetwork(
  widths: number[],
  activations: ({ type: string; options?: Record<string, unknown> } | null)[],
  seed: number,
  bias = true,
): Network {
  const layers: Layer[] = [];
  for (let k = 0; k + 1 < widths.length; k++) {
    layers.push(new Linear(widths[k], widths[k + 1], { bias }));
    const act = activations[k];
    if (act) layers.push(makeLayer(act.type, widths[k + 1], act.options ?? {}));
  }
  return new Network(layers, { seed });
}
