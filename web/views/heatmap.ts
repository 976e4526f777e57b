// Heatmaps painted as pixels: many size×size tiles in one ImageData (one putImageData per frame), drawn
// scaled onto the views with drawImage. No per-cell fillRect.
import { CLASS_COLORS, DIVERGING_WORDS, NEUTRAL_WORD, divergingIndex } from './colors';

export class HeatmapAtlas {
  private readonly canvas = document.createElement('canvas');
  private readonly ctx = this.canvas.getContext('2d')!;
  private image: ImageData | null = null;
  private words = new Uint32Array(0);
  private columns = 1;
  size = 0;
  tiles = 0;

  /** Room for `tiles` tiles of size × size. */
  ensure(tiles: number, size: number): void {
    if (tiles <= this.tiles && size === this.size && this.image) return;
    this.size = size;
    this.tiles = Math.max(tiles, 1);
    this.columns = Math.ceil(Math.sqrt(this.tiles));
    const rows = Math.ceil(this.tiles / this.columns);
    this.canvas.width = this.columns * size;
    this.canvas.height = rows * size;
    this.image = this.ctx.createImageData(this.canvas.width, this.canvas.height);
    this.words = new Uint32Array(this.image.data.buffer);
  }

  private origin(tile: number): [number, number] {
    return [(tile % this.columns) * this.size, Math.floor(tile / this.columns) * this.size];
  }

  /** Paints column `column` of `values` ([size² × width], row-major grid) divided by `scale`, diverging. */
  paintColumn(tile: number, values: Float32Array, width: number, column: number, scale: number): void {
    const [ox, oy] = this.origin(tile);
    const stride = this.canvas.width,
      size = this.size,
      inv = scale > 0 && Number.isFinite(scale) ? 1 / scale : 0;
    for (let j = 0; j < size; j++) {
      const rowStart = (oy + j) * stride + ox;
      for (let i = 0; i < size; i++) {
        const v = values[(j * size + i) * width + column];
        this.words[rowStart + i] = Number.isFinite(v) ? DIVERGING_WORDS[divergingIndex(v * inv)] : NEUTRAL_WORD;
      }
    }
  }

  /** Paints per grid point the colour `word(row)` (RGBA little-endian). */
  paintWords(tile: number, word: (row: number) => number): void {
    const [ox, oy] = this.origin(tile);
    const stride = this.canvas.width,
      size = this.size;
    for (let j = 0; j < size; j++) {
      const rowStart = (oy + j) * stride + ox;
      for (let i = 0; i < size; i++) this.words[rowStart + i] = word(j * size + i);
    }
  }

  flush(): void {
    if (this.image) this.ctx.putImageData(this.image, 0, 0);
  }

  draw(ctx: CanvasRenderingContext2D, tile: number, x: number, y: number, w: number, h: number, smooth = true): void {
    const [ox, oy] = this.origin(tile);
    ctx.imageSmoothingEnabled = smooth;
    ctx.drawImage(this.canvas, ox, oy, this.size, this.size, x, y, w, h);
  }
}

/** The largest |v| of column `column` of [rows × width] values (finite ones). */
export function columnScale(values: Float32Array, width: number, column: number): number {
  let m = 0;
  for (let i = column; i < values.length; i += width) {
    const a = Math.abs(values[i]);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return m || 1;
}

/** Softmax of one row of logits into `out`. */
export function softmaxRow(logits: Float32Array, offset: number, k: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < k; j++) max = Math.max(max, logits[offset + j]);
  let sum = 0;
  for (let j = 0; j < k; j++) {
    out[j] = Math.exp(logits[offset + j] - max);
    sum += out[j];
  }
  for (let j = 0; j < k; j++) out[j] /= sum;
}

/** The colour of a grid point of a classifier: for two classes the diverging scale at 2·p₁ − 1, for more a
 *  mix of the class colours weighted by their probabilities, paler where the network is unsure. */
export function classWord(p: Float64Array, k: number): number {
  if (k === 2) return DIVERGING_WORDS[divergingIndex(2 * p[1] - 1)];
  let r = 0,
    g = 0,
    b = 0,
    top = 0;
  for (let j = 0; j < k; j++) {
    const c = CLASS_COLORS[j % 8];
    r += p[j] * c[0];
    g += p[j] * c[1];
    b += p[j] * c[2];
    top = Math.max(top, p[j]);
  }
  const sure = Math.min(1, Math.max(0, (top - 1 / k) / (1 - 1 / k)));
  const alpha = 0.25 + 0.6 * sure;
  const mix = (c: number) => Math.round(247 * (1 - alpha) + c * alpha);
  return (255 << 24) | (mix(b) << 16) | (mix(g) << 8) | mix(r);
}
