// Buffers: a layer's state that is saved and loaded with its parameters but is not trained (no gradient),
// as torch's registered buffers — BatchNorm1d's running_mean, running_var and num_batches_tracked.
import { type Ptr, getCore } from './core.js';

export type BufferDtype = 'float32' | 'int64';

/** A named state tensor in WASM memory: `data` is a live view (float32, or int64 as a BigInt64Array). */
export class LayerBuffer {
  /** @internal */
  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    readonly dtype: BufferDtype,
    /** @internal */ readonly owner: { assertAlive(): void },
    /** @internal */ readonly ptr: Ptr,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** A live view of the values (re-created on each read, so it survives memory growth). */
  get data(): Float32Array | BigInt64Array {
    this.owner.assertAlive();
    const buffer = getCore().memory.buffer;
    return this.dtype === 'int64'
      ? new BigInt64Array(buffer, this.ptr, this.size)
      : new Float32Array(buffer, this.ptr, this.size);
  }

  /** @internal */
  withName(name: string): LayerBuffer {
    return new LayerBuffer(name, this.shape, this.dtype, this.owner, this.ptr);
  }
}
