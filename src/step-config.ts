// The configs that trainStep hands the core (a StepConfig and the loss's LossConfig with its class weights),
// kept in one block per network between calls and rewritten only when what they hold changes: a training
// loop that calls trainStep with the same loss, optimizer and batch size writes nothing but its data.
import { type Ptr, WasmBlock } from './core.js';
import { type LossKernel, structBytes, writeStruct } from './kernel.js';
import { type Loss } from './losses.js';
import { type Optimizer } from './optimizers.js';
import { type Plan } from './plan.js';

/** Where the LossConfig starts in the block, after the StepConfig. */
const LOSS_OFFSET = Math.ceil(structBytes('StepConfig') / 16) * 16;

interface Key {
  loss: Loss | null;
  kernel: LossKernel | null;
  optimizer: Ptr;
  plan: Ptr;
  target: Ptr;
  batch: number;
}

/** What a plain trainStep staged (Network.plainTrainStep), so that the next call with the same loss, optimizer
 *  and sizes can skip straight to writing its data: valid while the config it used is not rewritten and the
 *  plan's buffers have not moved (`capacity` unchanged). */
export interface RepeatStep {
  readonly loss: Loss;
  readonly kernel: LossKernel;
  readonly optimizer: Optimizer;
  readonly optimizerPtr: Ptr;
  readonly capacity: number;
  readonly batch: number;
  readonly inputs: number;
  readonly targets: number;
  readonly inputAt: number;
  readonly targetAt: number;
  readonly step: Ptr;
}

export class StepConfigs {
  private block: WasmBlock | null = null;
  private key: Key = { loss: null, kernel: null, optimizer: 0, plan: 0, target: 0, batch: 0 };
  /** The last plain step, if nothing has been rewritten since (config() drops it when it rewrites). */
  repeat: RepeatStep | null = null;

  /** The StepConfig for one training step of `batch` rows with their targets at `target`. */
  config(plan: Plan, loss: Loss, kernel: LossKernel, optimizer: Ptr, target: Ptr, batch: number, owner: object): Ptr {
    const key = this.key;
    if (key.loss !== loss || key.kernel !== kernel || !this.block) {
      this.repeat = null;
      this.writeLoss(loss, kernel, owner);
      key.loss = loss;
      key.kernel = kernel;
      key.plan = 0; // the step config below points at the new loss config
    }
    if (key.optimizer !== optimizer || key.plan !== plan.ptr || key.target !== target || key.batch !== batch) {
      const block = this.block!;
      this.repeat = null;
      writeStruct('StepConfig', block.ptr, {
        plan: plan.ptr,
        loss: block.ptr + LOSS_OFFSET,
        optimizer,
        target,
        batch,
        update: true,
        inputGrad: false,
        path: 'decide', // the core decides on the first step and keeps its answer here until this is rewritten
      });
      Object.assign(key, { optimizer, plan: plan.ptr, target, batch });
    }
    return this.block!.ptr;
  }

  private writeLoss(loss: Loss, kernel: LossKernel, owner: object): void {
    const bytes = LOSS_OFFSET + loss.configBytes();
    if (!this.block || this.block.bytes < bytes) {
      this.block?.free();
      this.block = null;
      this.block = new WasmBlock(bytes, owner);
    }
    let next = this.block.ptr + LOSS_OFFSET;
    loss.stageConfig(kernel, (n) => {
      const at = next;
      next += Math.ceil(n / 16) * 16;
      return at;
    });
  }

  dispose(): void {
    this.repeat = null;
    this.block?.free();
    this.block = null;
  }
}
