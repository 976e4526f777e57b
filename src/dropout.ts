// Dropout: a layer that holds no memory of its own. Its kernel (assembly/dropout.ts) draws the masks from
// the generator of the network it is in, so two networks built with the same seed draw the same masks.
import { Layer, type LayerKind, type PlanEntry } from './layers.js';
import { type OptionSpecs, number, readOptions } from './options.js';

export interface DropoutOptions {
  /** Probability of zeroing an element in training mode, in [0, 1) (default 0.5, as torch). */
  p?: number;
}
type ResolvedDropout = Required<DropoutOptions>;

const options: OptionSpecs<ResolvedDropout> = { p: number(0.5, { min: 0, below: 1 }) };

/** Inverted dropout, as torch.nn.Dropout: in training mode each element is zeroed with probability p and the
 *  others are scaled by 1/(1 − p); in eval mode (net.eval(), predict, evaluate) it passes values through. */
export class Dropout extends Layer {
  static readonly kind: LayerKind<Dropout, ResolvedDropout> = {
    type: 'Dropout',
    options,
    create: (o) => new Dropout(o),
    describe: (layer) => ({ ...layer.options }),
  };
  /** @internal */ readonly kind = Dropout.kind;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedDropout>;

  /** `new Dropout({ p })`, or `new Dropout(p)` as torch.nn.Dropout(p). */
  constructor(options: DropoutOptions | number = {}) {
    super();
    const given = typeof options === 'number' ? { p: options } : options;
    this.options = Object.freeze(readOptions('Dropout', Dropout.kind.options, given));
  }

  get p(): number {
    return this.options.p;
  }

  /** @internal */
  planEntry(): PlanEntry {
    return { kernel: 'Dropout', params: { p: this.options.p } };
  }

  override toString(): string {
    return `Dropout(p=${this.options.p}, inplace=False)`;
  }
}
