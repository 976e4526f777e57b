// The plan the WASM core runs for a network (assembly/network.ts): one block with the PlanHeader, a
// PlanRow per layer and the layers' kernel parameter blocks, and one block of batch buffers — each layer's
// input/output activations and their gradients for up to `capacity` rows, and a target buffer. This is the
// one file of the facade that knows that layout.
import { type Ptr, WasmBlock, alignFloats, checkedBytes } from './core.js';
import { layerParamBytes, structBytes, writeLayerParams, writePlanRow, writeStruct } from './kernel.js';
import { type Layer } from './layers.js';

export class Plan {
  private block: WasmBlock;
  private buffers: WasmBlock | null = null;
  private offsets = { acts: [] as number[], grads: [] as number[], target: 0 };
  /** Rows the batch buffers hold. */
  capacity = 0;
  private training = false;

  /** `widths[k]`: the width of layer k's input; widths[layers.length]: the network's output. */
  constructor(
    private readonly layers: readonly Layer[],
    private readonly widths: readonly number[],
    owner: object,
  ) {
    const paramBytes = layers.reduce((sum, layer) => sum + alignFloats(layerParamBytes(layer.planEntry().kernel) / 4) * 4, 0);
    this.block = new WasmBlock(structBytes('PlanHeader') + layers.length * structBytes('PlanRow') + paramBytes, owner);
    this.write();
  }

  get ptr(): Ptr {
    return this.block.ptr;
  }

  private rowPtr(k: number): Ptr {
    return this.block.ptr + structBytes('PlanHeader') + k * structBytes('PlanRow');
  }

  /** Writes the header, every row and the parameter blocks (again after the buffers move). */
  private write(): void {
    writeStruct('PlanHeader', this.block.ptr, { layers: this.layers.length, training: this.training });
    let params = this.rowPtr(this.layers.length);
    this.layers.forEach((layer, k) => {
      const entry = layer.planEntry();
      const paramBytes = layerParamBytes(entry.kernel);
      writeLayerParams(entry.kernel, params, entry.params ?? {});
      const buffers =
        this.buffers === null
          ? {}
          : {
              input: this.act(k),
              output: this.act(k + 1),
              gradInput: this.grad(k),
              gradOutput: this.grad(k + 1),
            };
      writePlanRow(this.rowPtr(k), {
        ...entry,
        ...buffers,
        inFeatures: this.widths[k],
        outFeatures: this.widths[k + 1],
        params: paramBytes ? params : 0,
      });
      params += alignFloats(paramBytes / 4) * 4;
    });
  }

  /** Grows the batch buffers to hold `rows` rows; true when they moved (what they held is gone). Sizes are
   *  checked before anything is allocated, and the old buffers stay until the new ones exist. */
  ensureCapacity(rows: number): boolean {
    if (rows <= this.capacity) return false;
    let total = 0;
    const place = (what: string) =>
      this.widths.map((w) => {
        const at = total;
        total += alignFloats(checkedBytes(`the ${what} of ${rows} rows of ${w}`, rows * w) / 4);
        return at;
      });
    const acts = place('activations'),
      grads = place('gradients');
    const target = total;
    total += alignFloats(rows * Math.max(1, this.widths[this.widths.length - 1]));
    const grown = new WasmBlock(checkedBytes(`the batch buffers for ${rows} rows`, total), this);
    this.buffers?.free();
    this.buffers = grown;
    this.offsets = { acts, grads, target };
    this.capacity = rows;
    this.write();
    return true;
  }

  /** Layer k's input activations (k = layers.length: the network's output). */
  act(k: number): Ptr {
    return this.buffers!.ptr + this.offsets.acts[k] * 4;
  }

  /** ∂L/∂ of layer k's input (k = layers.length: of the network's output). */
  grad(k: number): Ptr {
    return this.buffers!.ptr + this.offsets.grads[k] * 4;
  }

  get input(): Ptr {
    return this.act(0);
  }

  get output(): Ptr {
    return this.act(this.layers.length);
  }

  /** Room for one batch of targets (floats or class indices). */
  get target(): Ptr {
    return this.buffers!.ptr + this.offsets.target * 4;
  }

  /** Sets the mode that layers such as Dropout and BatchNorm read. */
  setTraining(training: boolean): void {
    this.training = training;
    writeStruct('PlanHeader', this.block.ptr, { layers: this.layers.length, training });
  }

  dispose(): void {
    this.block.free();
    this.buffers?.free();
    this.buffers = null;
  }
}
