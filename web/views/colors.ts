// Colours readable with the common colour-vision deficiencies: a diverging orange ↔ blue scale (negative
// orange, positive blue; never red against green) and the Okabe–Ito palette for classes, whose markers
// also differ in shape.

const STOPS: [number, [number, number, number]][] = [
  [-1, [179, 88, 6]],
  [-0.5, [241, 163, 64]],
  [-0.15, [254, 224, 182]],
  [0, [247, 247, 247]],
  [0.15, [209, 229, 240]],
  [0.5, [103, 169, 207]],
  [1, [33, 102, 172]],
];

/** 256 colours from −1 (orange) to +1 (blue), as little-endian RGBA words for ImageData. */
export const DIVERGING_WORDS = new Uint32Array(256);
const DIVERGING_CSS: string[] = [];
for (let i = 0; i < 256; i++) {
  const [r, g, b] = interpolate(-1 + (2 * i) / 255);
  DIVERGING_WORDS[i] = (255 << 24) | (b << 16) | (g << 8) | r;
  DIVERGING_CSS.push(`rgb(${r},${g},${b})`);
}

function interpolate(v: number): [number, number, number] {
  for (let k = 1; k < STOPS.length; k++) {
    const [v1, c1] = STOPS[k];
    if (v <= v1) {
      const [v0, c0] = STOPS[k - 1];
      const t = (v - v0) / (v1 - v0);
      return [0, 1, 2].map((j) => Math.round(c0[j] + t * (c1[j] - c0[j]))) as [number, number, number];
    }
  }
  return STOPS[STOPS.length - 1][1];
}

/** Index into the diverging scale of v ∈ [−1, 1] (clamped; NaN → the middle). */
export function divergingIndex(v: number): number {
  if (!(v === v)) return 128;
  return Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
}

export function diverging(v: number): string {
  return DIVERGING_CSS[divergingIndex(v)];
}

export const NEUTRAL_WORD = (255 << 24) | (200 << 16) | (200 << 8) | 200;

/** Okabe–Ito: orange, blue, reddish purple, bluish green, sky blue, vermillion, yellow, black. */
export const CLASS_COLORS: [number, number, number][] = [
  [230, 159, 0],
  [0, 114, 178],
  [204, 121, 167],
  [0, 158, 115],
  [86, 180, 233],
  [213, 94, 0],
  [240, 228, 66],
  [0, 0, 0],
];
export const classCss = (k: number) => `rgb(${CLASS_COLORS[k % 8].join(',')})`;

/** A colour by the weight's sign (orange negative, blue positive) at an opacity that grows with |w|. */
export function signed(v: number, alpha: number): string {
  const [r, g, b] = v < 0 ? [179, 88, 6] : [33, 102, 172];
  return `rgba(${r},${g},${b},${alpha.toFixed(3)})`;
}

/** Marker shapes by class, so classes differ without colour too: circle, square, triangle, diamond, … */
export function marker(ctx: CanvasRenderingContext2D, k: number, x: number, y: number, size: number): void {
  ctx.beginPath();
  switch (k % 4) {
    case 0:
      ctx.arc(x, y, size, 0, 2 * Math.PI);
      break;
    case 1:
      ctx.rect(x - size * 0.85, y - size * 0.85, size * 1.7, size * 1.7);
      break;
    case 2:
      ctx.moveTo(x, y - size * 1.15);
      ctx.lineTo(x + size, y + size * 0.75);
      ctx.lineTo(x - size, y + size * 0.75);
      ctx.closePath();
      break;
    default:
      ctx.moveTo(x, y - size * 1.2);
      ctx.lineTo(x + size, y);
      ctx.lineTo(x, y + size * 1.2);
      ctx.lineTo(x - size, y);
      ctx.closePath();
  }
}
