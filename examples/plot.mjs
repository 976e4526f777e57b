// A dependency-free SVG scatter plot with fitted curves.
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd'];

export function regressionSvg(data, curves, { width = 720, height = 480, margin = 50 } = {}) {
  const allX = [...data.x, ...curves.flatMap((c) => [...c.x])];
  const allY = [...data.y, ...curves.flatMap((c) => [...c.y])];
  const [x0, x1] = [Math.min(...allX), Math.max(...allX)];
  const [y0, y1] = [Math.min(...allY), Math.max(...allY)];
  const sx = (v) => margin + ((v - x0) / (x1 - x0)) * (width - 2 * margin);
  const sy = (v) => height - margin - ((v - y0) / (y1 - y0)) * (height - 2 * margin);
  const points = Array.from(
    data.x,
    (v, i) => `<circle cx="${sx(v).toFixed(1)}" cy="${sy(data.y[i]).toFixed(1)}" r="3" fill="#555" fill-opacity="0.6"/>`,
  );
  const lines = curves.map((c, k) => {
    const d = Array.from(c.x, (v, i) => `${i ? 'L' : 'M'}${sx(v).toFixed(1)},${sy(c.y[i]).toFixed(1)}`).join('');
    return `<path d="${d}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2.5"/>`;
  });
  const legend = curves.map(
    (c, k) =>
      `<text x="${margin + 10}" y="${margin + 18 * (k + 1)}" fill="${COLORS[k % COLORS.length]}" font-size="14">${escape(c.name)}</text>`,
  );
  const axes =
    `<line x1="${margin}" y1="${height - margin}" x2="${width - margin}" y2="${height - margin}" stroke="#000"/>` +
    `<line x1="${margin}" y1="${margin}" x2="${margin}" y2="${height - margin}" stroke="#000"/>` +
    `<text x="${width / 2}" y="${height - 12}" font-size="14" text-anchor="middle">x</text>` +
    `<text x="${margin}" y="${margin - 12}" font-size="14" text-anchor="middle">y</text>` +
    ticks(x0, x1)
      .map(
        (v) => `<text x="${sx(v).toFixed(1)}" y="${height - margin + 16}" font-size="11" text-anchor="middle">${label(v)}</text>`,
      )
      .join('') +
    ticks(y0, y1)
      .map((v) => `<text x="${margin - 6}" y="${(sy(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${label(v)}</text>`)
      .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="100%" height="100%" fill="#fff"/>${axes}${points.join('')}${lines.join('')}${legend.join('')}</svg>\n`
  );
}

/** Five evenly spaced values from lo to hi. */
function ticks(lo, hi) {
  return Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
}

function label(value) {
  return Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(1);
}

function escape(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
