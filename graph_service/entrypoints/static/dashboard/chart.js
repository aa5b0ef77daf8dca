// The coverage-over-time chart: plain SVG, township and village rates by month, and the goal line
// (every township covered by 2025-12-31). Every point carries data-date / data-rate for readers.
import { percent, t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
export const GOAL_DATE = "2025-12-31";
const PAD = { left: 44, right: 16, bottom: 28 };

function node(name, attributes = {}, text) {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

const day = (iso) => Date.parse(`${iso}T00:00:00Z`);

/** The legend's entries laid out in rows within `width`: [{kind, label, x, y}] and the rows' height. */
function legendLayout(entries, width) {
  const placed = [];
  let x = PAD.left;
  let y = 8;
  for (const [kind, label] of entries) {
    const size = 22 + label.length * (/[\u3000-\u9fff]/.test(label) ? 12 : 6.5);
    if (x + size > width - PAD.right && x > PAD.left) {
      x = PAD.left;
      y += 18;
    }
    placed.push({ kind, label, x, y });
    x += size + 14;
  }
  return { placed, height: y + 18 };
}

/**
 * Draw the chart into `container`, at the container's own width (so text keeps its size on a phone).
 * series: [{key: "township"|"village", label, points: [{date, rate, covered, total}]}]; asOf: ISO date.
 */
export function drawTrend(container, series, asOf) {
  container.textContent = "";
  const dates = series.flatMap((s) => s.points.map((p) => p.date));
  if (!dates.length) return;
  const width = Math.max(300, Math.round(container.clientWidth || 720));
  const plotHeight = width < 500 ? 200 : 250;
  const legend = legendLayout([...series.map((s) => [`swatch ${s.key}`, s.label]), ["swatch goal", t("goal")]], width);
  const top = legend.height + 8;
  const height = top + plotHeight + PAD.bottom;
  const start = day(dates.reduce((a, b) => (a < b ? a : b)));
  const end = Math.max(day(GOAL_DATE), ...dates.map(day));
  const x = (iso) => PAD.left + ((day(iso) - start) / (end - start || 1)) * (width - PAD.left - PAD.right);
  const y = (rate) => top + (1 - rate) * plotHeight;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": t("trend") });

  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(node("line", { class: "grid", x1: PAD.left, x2: width - PAD.right, y1: y(tick), y2: y(tick) }));
    svg.append(node("text", { class: "axis", x: PAD.left - 6, y: y(tick) + 4, "text-anchor": "end" }, `${tick * 100}%`));
  }
  const firstYear = new Date(start).getUTCFullYear();
  const lastYear = new Date(end).getUTCFullYear();
  const step = Math.max(1, Math.ceil((lastYear - firstYear) / Math.max(2, Math.floor(width / 70))));
  for (let year = firstYear + 1; year <= lastYear; year += step) {
    svg.append(node("text", { class: "axis", x: x(`${year}-01-01`), y: height - 8, "text-anchor": "middle" }, String(year)));
  }

  // The goal: 100% of townships by GOAL_DATE.
  const goal = node("g", { class: "goal", "data-date": GOAL_DATE, "data-rate": "1" });
  goal.append(node("line", { x1: PAD.left, x2: x(GOAL_DATE), y1: y(1), y2: y(1) }));
  goal.append(node("line", { x1: x(GOAL_DATE), x2: x(GOAL_DATE), y1: y(0), y2: y(1) }));
  goal.append(node("circle", { cx: x(GOAL_DATE), cy: y(1), r: 4 }));
  svg.append(goal);

  if (asOf && day(asOf) >= start && day(asOf) <= end) {
    svg.append(node("line", { class: "asof", x1: x(asOf), x2: x(asOf), y1: y(0), y2: y(1), "data-date": asOf }));
  }

  for (const s of series) {
    const points = s.points.filter((p) => p.rate !== null);
    const group = node("g", { class: `series ${s.key}`, "data-series": s.key });
    group.append(node("polyline", { points: points.map((p) => `${x(p.date)},${y(p.rate)}`).join(" ") }));
    for (const p of points) {
      const dot = node("circle", {
        cx: x(p.date), cy: y(p.rate), r: 2, "data-date": p.date, "data-rate": String(p.rate),
        "data-covered": String(p.covered), "data-total": String(p.total),
      });
      dot.append(node("title", {}, `${s.label} ${p.date}: ${percent(p.rate)} (${p.covered}/${p.total})`));
      group.append(dot);
    }
    svg.append(group);
  }

  const key = node("g", { class: "legend" });
  for (const entry of legend.placed) {
    key.append(node("rect", { class: entry.kind, x: entry.x, y: entry.y, width: 14, height: 4 }));
    key.append(node("text", { x: entry.x + 18, y: entry.y + 6 }, entry.label));
  }
  svg.append(key);
  container.append(svg);
}
