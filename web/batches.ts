// The order of mini-batches: each epoch a seeded shuffle of the training rows, cut into batches of
// `batchSize` (the last one may be smaller, as PyTorch's DataLoader without drop_last). A batch size of at
// least the training set means full-batch training in a fixed order.
import { Random, STREAM } from './random';

export class BatchSchedule {
  private readonly order: Int32Array;
  private readonly random: Random;
  private position = 0;
  epoch = 0;

  constructor(
    readonly rows: number,
    readonly batchSize: number,
    seed: number,
  ) {
    this.order = Int32Array.from({ length: rows }, (_, i) => i);
    this.random = new Random(seed, STREAM.batches);
    if (!this.fullBatch) this.random.shuffle(this.order);
  }

  get fullBatch(): boolean {
    return this.batchSize >= this.rows;
  }

  /** The rows of the next batch (null: all of them), without moving on. */
  peek(): Int32Array | null {
    if (this.fullBatch) return null;
    return this.order.subarray(this.position, Math.min(this.rows, this.position + this.batchSize));
  }

  /** Moves past the batch that peek() gave, starting a new shuffled epoch when the data is used up. */
  advance(): void {
    if (this.fullBatch) {
      this.epoch++;
      return;
    }
    this.position += this.batchSize;
    if (this.position >= this.rows) {
      this.position = 0;
      this.epoch++;
      this.random.shuffle(this.order);
    }
  }
}

/** Copies rows `indices` of x ([rows × width]) and y into the buffers; returns views of the batch. */
export function gather<T extends Float32Array | Int32Array>(
  indices: Int32Array,
  x: Float32Array,
  y: T,
  width: number,
  yWidth: number,
  xBuffer: Float32Array,
  yBuffer: T,
): [Float32Array, T] {
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    for (let j = 0; j < width; j++) xBuffer[i * width + j] = x[r * width + j];
    for (let j = 0; j < yWidth; j++) yBuffer[i * yWidth + j] = y[r * yWidth + j];
  }
  return [xBuffer.subarray(0, indices.length * width), yBuffer.subarray(0, indices.length * yWidth) as T];
}
