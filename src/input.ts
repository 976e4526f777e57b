// Turns user data into flat float32 rows and checks it: shape and type here, finiteness in WASM.
import { BackpropError, describeValue } from './errors.js';
import { getCore, heapF32, writeF32 } from './core.js';

/** Rows of numbers: a flat Float32Array (or other numeric typed array / number[]) of rows·columns values,
 *  or an array of rows (number[][]). */
export type MatrixInput = Float32Array | Float64Array | ArrayLike<number> | ArrayLike<ArrayLike<number>>;

export interface FlatRows {
  values: ArrayLike<number>;
  rows: number;
  /** The value the user gave at a flat index (before any conversion to float32). */
  original: (index: number) => unknown;
}

function isNumericTypedArray(value: unknown): value is ArrayLike<number> {
  return (
    ArrayBuffer.isView(value) &&
    !(value instanceof DataView) &&
    typeof (value as { length?: unknown }).length === 'number' &&
    !(value instanceof BigInt64Array) &&
    !(value instanceof BigUint64Array)
  );
}

function expectedText(name: string, columns: number): string {
  return (
    `${name} as rows of ${columns} number${columns === 1 ? '' : 's'} (a Float32Array whose length is a ` +
    `multiple of ${columns}, or number[][] with ${columns} per row)`
  );
}

/** Flattens `value` into rows of `columns` numbers, or throws naming what was expected and what came. */
export function toFlatRows(value: unknown, name: string, columns: number): FlatRows {
  if (isNumericTypedArray(value)) return checkLength(value, name, columns);
  if (!Array.isArray(value)) {
    throw new BackpropError('BAD_TYPE', `expected ${expectedText(name, columns)}, got ${describeValue(value)}`);
  }
  if (value.length > 0 && (Array.isArray(value[0]) || isNumericTypedArray(value[0]))) {
    return flattenRows(value, name, columns);
  }
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'number') {
      throw new BackpropError('BAD_TYPE', `expected ${name}[${i}] to be a number, got ${describeValue(value[i])}`);
    }
  }
  return checkLength(value, name, columns);
}

function checkLength(
  values: ArrayLike<number>,
  name: string,
  columns: number,
  original = (i: number): unknown => values[i],
): FlatRows {
  const length = values.length;
  if (length === 0) {
    throw new BackpropError('SHAPE_MISMATCH', `expected ${expectedText(name, columns)}, got an empty array`);
  }
  if (length % columns !== 0) {
    throw new BackpropError(
      'SHAPE_MISMATCH',
      `expected ${expectedText(name, columns)}, got ${length} values, which is not a multiple of ${columns}`,
    );
  }
  return { values, rows: length / columns, original };
}

function flattenRows(rows: unknown[], name: string, columns: number): FlatRows {
  const flat = new Float32Array(rows.length * columns);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as ArrayLike<unknown>;
    if (!(Array.isArray(row) || isNumericTypedArray(row))) {
      throw new BackpropError('BAD_TYPE', `expected ${name}[${r}] to be a row of ${columns} numbers, got ${describeValue(row)}`);
    }
    if (row.length !== columns) {
      throw new BackpropError('SHAPE_MISMATCH', `expected ${name}[${r}] to have ${columns} values, got ${row.length}`);
    }
    for (let c = 0; c < columns; c++) {
      const v = row[c];
      if (typeof v !== 'number') {
        throw new BackpropError('BAD_TYPE', `expected ${name}[${r}][${c}] to be a number, got ${describeValue(v)}`);
      }
      flat[r * columns + c] = v;
    }
  }
  return checkLength(flat, name, columns, (i) => (rows[Math.floor(i / columns)] as ArrayLike<unknown>)[i % columns]);
}

/** Copies `rows` into WASM memory at `ptr` and throws if any value is NaN or ±Infinity as float32. */
export function stageFinite(rows: FlatRows, ptr: number, name: string, columns: number): void {
  writeF32(ptr, rows.values);
  const bad = firstNonFinite(ptr, rows.values.length);
  if (bad < 0) return;
  const original = rows.original(bad);
  const where = columns === 1 ? `${name}[${bad}]` : `${name}[${Math.floor(bad / columns)}][${bad % columns}]`;
  const asFloat32 = Number.isFinite(original) ? ` (${original} overflows float32)` : '';
  throw new BackpropError(
    'NON_FINITE',
    `expected finite numbers in ${name}, got ${describeValue(original)} at ${where}${asFloat32}`,
  );
}

/** Index of the first NaN or ±Infinity among `count` floats at `ptr`, or −1: checked here for a few values
 *  (a call into the core costs more), by the core's SIMD kernel for many. */
function firstNonFinite(ptr: number, count: number): number {
  if (count > 64) return getCore().firstNonFiniteF32(ptr, count);
  const heap = heapF32(),
    base = ptr >>> 2;
  for (let i = 0; i < count; i++) {
    const v = heap[base + i];
    if (v - v !== 0) return i;
  }
  return -1;
}

export function requirePositiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BackpropError('BAD_OPTION', `expected ${name} to be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

export function requireFiniteNumber(value: unknown, name: string, check: (v: number) => boolean, rule: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
    throw new BackpropError('BAD_OPTION', `expected ${name} to be a finite number ${rule}, got ${describeValue(value)}`);
  }
  return value;
}

export { checkOptionKeys } from './options.js';
