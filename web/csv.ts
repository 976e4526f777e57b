// A user's CSV: parsed into numeric columns and checked, with a message that says what is wrong and where.
// Nothing here touches the current problem: the caller switches only on success.
import type { RawData } from './datasets';
import type { Task } from './state';

export const MAX_ROWS = 100_000;
export const MAX_CLASSES = 8;

export interface CsvTable {
  names: string[];
  columns: Float64Array[];
  rows: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; message: string };

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

function splitLine(line: string, separator: string): string[] {
  const cells: string[] = [];
  let cell = '',
    quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === separator) {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

const isNumber = (cell: string) =>
  cell !== '' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cell) && Number.isFinite(Number(cell));

/** Numeric columns from CSV text (comma, semicolon or tab separated; an optional header row). */
export function parseCsv(text: string): Result<CsvTable> {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\n|\r/)
    .filter((l) => l.trim() !== '');
  if (lines.length === 0) return fail('the CSV is empty: paste or drop rows of numbers, one sample a line');
  if (lines.length - 1 > MAX_ROWS) {
    return fail(
      `the CSV has ${lines.length.toLocaleString('en-US')} lines, more than ${MAX_ROWS.toLocaleString('en-US')} rows; the explorer takes at most ${MAX_ROWS.toLocaleString('en-US')}`,
    );
  }
  const first = lines[0];
  const separator = [',', ';', '\t'].map((s) => [s, first.split(s).length] as const).sort((a, b) => b[1] - a[1])[0][0];
  const head = splitLine(first, separator);
  const hasHeader = head.some((cell) => !isNumber(cell));
  const names = hasHeader ? head.map((name, k) => name || `column ${k + 1}`) : head.map((_, k) => `column ${k + 1}`);
  const body = hasHeader ? lines.slice(1) : lines;
  if (body.length === 0) return fail('the CSV has a header but no data rows');
  if (body.length > MAX_ROWS) {
    return fail(
      `the CSV has ${body.length.toLocaleString('en-US')} rows; the explorer takes at most ${MAX_ROWS.toLocaleString('en-US')}`,
    );
  }
  if (names.length < 2) {
    return fail(
      `the CSV has a single column (${names[0]}); it needs at least two numeric columns: one or more inputs and a target`,
    );
  }
  const columns = names.map(() => new Float64Array(body.length));
  for (let r = 0; r < body.length; r++) {
    const cells = splitLine(body[r], separator);
    const line = r + (hasHeader ? 2 : 1);
    if (cells.length !== names.length) {
      return fail(`line ${line} has ${cells.length} cells, but the ${hasHeader ? 'header' : 'first line'} has ${names.length}`);
    }
    for (let c = 0; c < cells.length; c++) {
      if (!isNumber(cells[c])) {
        const shown = cells[c] === '' ? 'an empty cell' : `"${cells[c].slice(0, 20)}"`;
        return fail(`line ${line}, column "${names[c]}": ${shown} is not a number (every cell must be a finite number)`);
      }
      columns[c][r] = Number(cells[c]);
    }
  }
  if (body.length < 2) return fail('the CSV has a single data row; it needs at least two (one to train on, one to test)');
  return { ok: true, value: { names, columns, rows: body.length } };
}

/** The table as a problem: column `target` is learned from the others. */
export function csvData(table: CsvTable, target: number, task: Task): Result<{ data: RawData; ids: string[] }> {
  if (target < 0 || target >= table.names.length) return fail(`there is no column ${target + 1} to use as the target`);
  const y = table.columns[target];
  const values = [...new Set(y)].sort((a, b) => a - b);
  const name = table.names[target];
  if (values.length < 2)
    return fail(`the target column "${name}" has a single value (${values[0]}) in every row: there is nothing to learn`);
  if (task === 'classification' && values.length > MAX_CLASSES) {
    return fail(
      `the target column "${name}" has ${values.length} different values; classification takes at most ${MAX_CLASSES} classes (choose regression)`,
    );
  }
  const kept = table.names.map((_, k) => k).filter((k) => k !== target);
  const width = kept.length;
  const inputs = new Float64Array(table.rows * width);
  for (let r = 0; r < table.rows; r++)
    kept.forEach((k, j) => {
      inputs[r * width + j] = table.columns[k][r];
    });
  const classOf = new Map(values.map((v, i) => [v, i]));
  const targets = task === 'classification' ? Float64Array.from(y, (v) => classOf.get(v)!) : Float64Array.from(y);
  const domain = kept.map((k): [number, number] => {
    let lo = Infinity,
      hi = -Infinity;
    for (const v of table.columns[k]) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const pad = (hi - lo) * 0.05 || 1;
    return [lo - pad, hi + pad];
  });
  return {
    ok: true,
    value: {
      data: {
        columns: kept.map((k) => table.names[k]),
        inputs,
        targets,
        classes: task === 'classification' ? values.length : 0,
        classNames: task === 'classification' ? values.map((v) => `${name} = ${v}`) : [],
        domain,
        description: `your CSV: ${table.rows.toLocaleString('en-US')} rows, ${name} learned from ${width} column${width === 1 ? '' : 's'}`,
      },
      ids: kept.map((k) => `c${k}`),
    },
  };
}

/** A classification task when the target looks like class labels (a few integers), else regression. */
export function suggestTask(table: CsvTable, target: number): Task {
  const y = table.columns[target];
  const values = new Set(y);
  return values.size <= MAX_CLASSES && [...values].every(Number.isInteger) ? 'classification' : 'regression';
}

/** A short stable key for keeping a CSV's text in this browser (FNV-1a over the text). */
export function csvKey(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36) + text.length.toString(36);
}
