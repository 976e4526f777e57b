// The typed boundary to the WASM core's data: the only module of src/ that reads the generated ABI
// (assembly/abi.json). Everything else names kernels ('ReLU', 'CrossEntropyIndex', 'Adam'), struct fields
// and codes; the ids and byte offsets behind those names stay here.
import { type Ptr } from './generated/core-exports.js';
import { codes, layerKernels, limits, lossKernels, optimizerKernels, paramBlocks, structs } from './generated/abi.js';
import { getCore, memoryBuffer, memoryGeneration } from './core.js';

export type LayerKernel = keyof typeof layerKernels;
export type LossKernel = keyof typeof lossKernels;
export type OptimizerKernel = keyof typeof optimizerKernels;
export type StructName = keyof typeof structs;
export type ParamBlockName = keyof typeof paramBlocks;
export type CodeSet = keyof typeof codes;
export type Code<S extends CodeSet> = keyof (typeof codes)[S];
export type Status = Code<'Status'>;

interface FieldLayout {
  readonly offset: number;
  readonly type: string;
  readonly bytes: number;
  readonly bool?: boolean;
  readonly code?: string;
}
interface Layout {
  readonly bytes: number;
  readonly fields: Readonly<Record<string, FieldLayout>>;
}
/** A value for each (or some) of a layout's fields: numbers, booleans for bool fields, code names for
 *  code fields. */
export type FieldValues<L extends Layout> = { [K in keyof L['fields']]?: number | boolean | string };

let viewCache: DataView | null = null;

/** A DataView over all of linear memory, re-created after the memory has grown. */
function view(): DataView {
  const buffer = memoryBuffer();
  if (viewCache === null || viewCache.buffer !== buffer) viewCache = new DataView(buffer);
  return viewCache;
}

/** A layout's scalar fields as a list, made once per layout: writing a struct is then one short loop. */
const fieldLists = new WeakMap<Layout, [string, FieldLayout][]>();
function fieldList(layout: Layout): [string, FieldLayout][] {
  let list = fieldLists.get(layout);
  if (!list) {
    list = Object.entries(layout.fields).filter(([, field]) => field.type !== 'block');
    fieldLists.set(layout, list);
  }
  return list;
}

/** Writes every field of `layout` at `ptr` from `values` by name: missing values are 0, and values of
 *  names the layout does not have are not written (a kind's options may hold more than its kernel reads). */
function writeFields(layout: Layout, ptr: Ptr, values: Record<string, unknown>): void {
  const memory = view();
  for (const [name, field] of fieldList(layout)) {
    const value = values[name] ?? 0;
    const at = ptr + field.offset;
    let number: number;
    if (field.code && typeof value === 'string') number = codes[field.code as CodeSet][value as never];
    else number = typeof value === 'boolean' ? Number(value) : (value as number);
    if (typeof number !== 'number') throw new Error(`internal: ${String(value)} is not a value of field ${name}`);
    writeNumber(memory, at, field.type, number);
  }
}

function writeNumber(memory: DataView, at: number, type: string, value: number): void {
  switch (type) {
    case 'i32':
      memory.setInt32(at, value, true);
      break;
    case 'u32':
    case 'ptr':
      memory.setUint32(at, value, true);
      break;
    case 'f32':
      memory.setFloat32(at, value, true);
      break;
    default:
      memory.setFloat64(at, value, true);
  }
}

function readField(layout: Layout, ptr: Ptr, name: string): number {
  const field = layout.fields[name];
  const memory = view();
  switch (field.type) {
    case 'i32':
      return memory.getInt32(ptr + field.offset, true);
    case 'f32':
      return memory.getFloat32(ptr + field.offset, true);
    case 'f64':
      return memory.getFloat64(ptr + field.offset, true);
    default:
      return memory.getUint32(ptr + field.offset, true);
  }
}

/** Bytes of a struct of abi.json. */
export function structBytes(name: StructName): number {
  return structs[name].bytes;
}

/** Writes a whole struct at `ptr`: the given fields, 0 for the others. */
export function writeStruct<S extends StructName>(name: S, ptr: Ptr, values: FieldValues<(typeof structs)[S]>): void {
  writeFields(structs[name], ptr, values);
}

/** Changes one field of a struct at `ptr`. */
export function setStructField<S extends StructName>(
  name: S,
  ptr: Ptr,
  field: keyof (typeof structs)[S]['fields'] & string,
  value: number,
): void {
  const layout: Layout = structs[name];
  writeNumber(view(), ptr + layout.fields[field].offset, layout.fields[field].type, value);
}

export function readStructField<S extends StructName>(
  name: S,
  ptr: Ptr,
  field: keyof (typeof structs)[S]['fields'] & string,
): number {
  return readField(structs[name], ptr, field);
}

/** Where a struct's inline parameter block starts. */
export function paramsOffset(name: 'LossConfig' | 'OptimizerHeader'): number {
  return structs[name].fields.params.offset;
}

// ---- layer kernels ----

/** The parameter block a layer kernel reads, or null. */
function layerParamBlock(kernel: LayerKernel): Layout | null {
  const block = (layerKernels[kernel] as { params?: ParamBlockName }).params;
  return block ? paramBlocks[block] : null;
}

/** Bytes of a layer kernel's parameter block (0 without one). */
export function layerParamBytes(kernel: LayerKernel): number {
  return layerParamBlock(kernel)?.bytes ?? 0;
}

export function writeLayerParams(kernel: LayerKernel, ptr: Ptr, values: Record<string, unknown>): void {
  const block = layerParamBlock(kernel);
  if (block) writeFields(block, ptr, values);
}

/** A layer kernel's id, for the kernel tests that call activation kernels directly. */
export function layerKernelId(kernel: LayerKernel): number {
  return layerKernels[kernel].id;
}

interface ScratchRule {
  readonly fixed?: number;
  readonly perFeature?: number;
  readonly perRow?: number;
  readonly perElement?: number;
}
const partFloats = (n: number) => Math.ceil(n / 4) * 4;

function scratchRule(kernel: LayerKernel): ScratchRule {
  return (layerKernels[kernel] as { scratch?: ScratchRule }).scratch ?? {};
}

/** Floats of per-batch scratch a layer kernel needs for `rows` rows of `width` (abi.json "scratch"; the
 *  same layout rule as assembly/scratch.ts). */
export function layerScratchFloats(kernel: LayerKernel, rows: number, width: number): number {
  const s = scratchRule(kernel);
  return (
    partFloats(s.fixed ?? 0) +
    (s.perFeature ?? 0) * partFloats(width) +
    (s.perRow ?? 0) * partFloats(rows) +
    (s.perElement ?? 0) * partFloats(rows * width)
  );
}

/** Where per-element part `index` of a kernel's scratch starts, in floats from the scratch's start (for the
 *  tests that read Dropout's mask). */
export function layerScratchElementPart(kernel: LayerKernel, index: number, rows: number, width: number): number {
  const s = scratchRule(kernel);
  return (
    partFloats(s.fixed ?? 0) +
    (s.perFeature ?? 0) * partFloats(width) +
    (s.perRow ?? 0) * partFloats(rows) +
    index * partFloats(rows * width)
  );
}

export interface PlanRowValues {
  kernel: LayerKernel;
  inFeatures: number;
  outFeatures: number;
  params?: Ptr;
  weight?: Ptr;
  bias?: Ptr;
  weightGrad?: Ptr;
  biasGrad?: Ptr;
  input?: Ptr;
  output?: Ptr;
  gradInput?: Ptr;
  gradOutput?: Ptr;
  scratch?: Ptr;
}

export function writePlanRow(ptr: Ptr, row: PlanRowValues): void {
  writeFields(structs.PlanRow, ptr, { ...row, kernel: layerKernels[row.kernel].id });
}

/** Whether a layer kernel keeps running statistics (their updates wait until a training step is taken). */
export function layerKeepsStatistics(kernel: LayerKernel): boolean {
  return Boolean((layerKernels[kernel] as { runningStatistics?: boolean }).runningStatistics);
}

/** Whether a layer kernel is an element-wise activation (σ'(z) is then one number per element). */
export function isElementwiseActivation(kernel: LayerKernel): boolean {
  const k = layerKernels[kernel] as { activation?: boolean; rowwise?: boolean };
  return Boolean(k.activation) && !k.rowwise;
}

// ---- losses ----

/** What a loss kernel takes as its target: float values shaped like the prediction, or class indices. */
export function lossTarget(kernel: LossKernel): 'values' | 'classes' {
  return lossKernels[kernel].target;
}

/** The range a loss kernel needs its predictions in (BCE: [0, 1]), or null. */
export function lossPredictionRange(kernel: LossKernel): readonly [number, number] | null {
  return (lossKernels[kernel] as { predictionRange?: readonly [number, number] }).predictionRange ?? null;
}

/** The range a loss kernel needs its float targets in (BCE: probabilities), or null. */
export function lossTargetRange(kernel: LossKernel): readonly [number, number] | null {
  return (lossKernels[kernel] as { targetRange?: readonly [number, number] }).targetRange ?? null;
}

/** How a loss kernel's predictions name a class: the argmax of a row, or each value against a threshold
 *  (a binary class per element); null for regression losses. */
export function lossDecision(kernel: LossKernel): { argmax: true } | { threshold: number } | null {
  const k = lossKernels[kernel] as { accuracy?: string; threshold?: number };
  if (k.accuracy === 'argmax') return { argmax: true };
  if (k.accuracy === 'threshold') return { threshold: k.threshold ?? 0 };
  return null;
}

/** Whether a loss kernel's predictions can be right or wrong (evaluate() then reports an accuracy). */
export function lossHasAccuracy(kernel: LossKernel): boolean {
  return (lossKernels[kernel] as { accuracy?: string }).accuracy !== undefined;
}

export function writeLossConfig(
  ptr: Ptr,
  kernel: LossKernel,
  reduction: Code<'Reduction'>,
  params: Record<string, unknown>,
): void {
  writeFields(structs.LossConfig, ptr, { kernel: lossKernels[kernel].id, reduction });
  const block = (lossKernels[kernel] as { params?: ParamBlockName }).params;
  if (block) writeFields(paramBlocks[block], ptr + paramsOffset('LossConfig'), params);
}

// ---- optimizers ----

/** torch.optim's names of an optimizer kernel's state buffers, in slot order. */
export function optimizerStateSlots(kernel: OptimizerKernel): readonly string[] {
  return optimizerKernels[kernel].state;
}

export function optimizerTableOffset(): number {
  return structs.OptimizerHeader.bytes;
}

export function optimizerRowBytes(): number {
  return structs.OptimizerRow.bytes;
}

export function writeOptimizerHeader(
  ptr: Ptr,
  kernel: OptimizerKernel,
  values: { count: number; lr: number; clipGradNorm: number },
  params: Record<string, unknown>,
): void {
  writeFields(structs.OptimizerHeader, ptr, { ...values, kernel: optimizerKernels[kernel].id, step: 0 });
  writeFields(paramBlocks[optimizerKernels[kernel].params], ptr + paramsOffset('OptimizerHeader'), params);
}

/** Rewrites an optimizer's kernel parameter block (a scheduler cycling the momentum). */
export function writeOptimizerParams(ptr: Ptr, kernel: OptimizerKernel, params: Record<string, unknown>): void {
  writeFields(paramBlocks[optimizerKernels[kernel].params], ptr + paramsOffset('OptimizerHeader'), params);
}

// ---- results and statuses ----

export interface CallResult {
  /** The reduced loss (mean or sum). */
  loss: number;
  lossSum: number;
  lossCount: number;
  correct: number;
  judged: number;
  /** Where a problem was: an output index for invalidPrediction, a layer for nonFiniteGradient. */
  where: number;
  /** 0-based batch and epoch of a failed training call. */
  batch: number;
  epoch: number;
}

let resultPtr: Ptr | null = null;

/** One field of the core's result area (the loss of the last step, say). */
export function readResultField(field: keyof CallResult): number {
  resultPtr ??= getCore().resultPtr();
  return readField(structs.Result, resultPtr, field);
}

let lossView: Float64Array | null = null;
let lossViewAt = -1;

/** The loss of the last training step, through a view kept until the memory grows (trainStep's per-call read). */
export function readResultLoss(): number {
  if (lossView === null || lossViewAt !== memoryGeneration()) {
    resultPtr ??= getCore().resultPtr();
    const at = resultPtr + structs.Result.fields.loss.offset;
    if (at % 8 !== 0) return readResultField('loss');
    lossView = new Float64Array(memoryBuffer(), at, 1);
    lossViewAt = memoryGeneration();
  }
  return lossView[0];
}

/** The status a training call returns when it went through. */
export const STATUS_OK: number = codes.Status.ok;

/** What the last training or evaluation call wrote to the core's result area. */
export function readResult(): CallResult {
  const read = readResultField;
  return {
    loss: read('loss'),
    lossSum: read('lossSum'),
    lossCount: read('lossCount'),
    correct: read('correct'),
    judged: read('judged'),
    where: read('where'),
    batch: read('batch'),
    epoch: read('epoch'),
  };
}

const STATUS_NAMES = Object.fromEntries(Object.entries(codes.Status).map(([name, id]) => [id, name])) as Record<number, Status>;

/** The name of a status code returned by a training or evaluation call. */
export function statusName(code: number): Status {
  const name = STATUS_NAMES[code];
  if (name === undefined) throw new Error(`internal: the core returned unknown status ${code}`);
  return name;
}

/** The most threads the core's pool has room for (init({ threads }) refuses more). */
export const MAX_THREADS: number = limits.maxThreads;
