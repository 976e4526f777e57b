// The library's registries, as the suites iterate them: every layer, loss and optimizer kind, with options
// sampled from each kind's own declaration (rule, values, default), so a new kind is tested without new
// test code. Also the float64 reference of a built network.
import { LAYERS, LOSSES, OPTIMIZERS, Activation, Linear, Network, type Layer, type LayerKind } from '../src/index';
import { type OptionSpec, readOptions } from '../src/options';
import * as ref from './reference';

type AnySpecs = Record<string, OptionSpec<unknown>>;
/* eslint-disable @typescript-eslint/no-explicit-any -- registries hold classes of every option type */
type AnyClass = { kind: { type: string; options: AnySpecs; validate?(o: any): void; kernels?: any } } & (new (
  ...args: any[]
) => any);
/* eslint-enable @typescript-eslint/no-explicit-any */

export const activationTypes = Object.keys(LAYERS).filter((type) => type !== 'Linear');
export const lossTypes = Object.keys(LOSSES);
export const optimizerTypes = Object.keys(OPTIMIZERS);

export const layerClass = (type: string) => (LAYERS as unknown as Record<string, AnyClass>)[type];
export const lossClass = (type: string) => (LOSSES as unknown as Record<string, AnyClass>)[type];
export const optimizerClass = (type: string) => (OPTIMIZERS as unknown as Record<string, AnyClass>)[type];

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
    case 'instance':
      return undefined;
    case 'pair':
      return [0.5 + 0.45 * random(), 0.9 + 0.099 * random()];
    case 'number': {
      const { min, max, above, below, integer } = takes.rule;
      const low = min ?? above,
        high = max ?? below;
      if (integer) {
        // integers without bounds (ignoreIndex): the default or a small class index
        if (low === undefined) return random() < 0.5 ? spec.default : Math.floor(random() * (ctx.classes ?? 2));
        return Math.max(low + (above !== undefined ? 1 : 0), Math.round((spec.default as number) * (0.5 + random())));
      }
      if (low !== undefined && high !== undefined) {
        // within the bounds, around the default: from halfway down to halfway up (a user's range, not the
        // corners, where e.g. RMSprop with alpha near 0 turns into sign descent)
        const d = typeof spec.default === 'number' ? spec.default : (low + high) / 2;
        const from = (low + d) / 2,
          to = (d + high) / 2;
        return from + (to - from) * random();
      }
      // around the default; an option off by default (0) gets a modest value, as a user would turn it on
      const base = typeof spec.default === 'number' && spec.default !== 0 ? spec.default : 0.2;
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

/** The float64 reference layers holding a copy of the network's current (float32) parameters. */
export function referenceOf(net: Network): ref.RefLayer[] {
  return net.layers.map((layer) => {
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
    if (act) layers.push(new (layerClass(act.type))(act.options ?? {}));
  }
  return new Network(layers, { seed });
}
