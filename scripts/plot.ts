// plot: the experiments' plots as SVG, drawn by vega-lite in Node (no browser): a line per series
// over time, side by side in panels when the points name one, and an optional horizontal rule
// (a guarantee, a target).

import * as vega from 'vega';
import { compile } from 'vega-lite';

export interface PlotPoint { t: number; mbps: number; series: string; panel?: string }

/** Lines of `points` (x = t, y = mbps, one per series, a panel per `panel`) as an SVG document. */
export async function plotLines(points: PlotPoint[], o: { title: string; x: string; y: string; rule?: number }): Promise<string> {
  const layers: unknown[] = [{
    mark: { type: 'line', strokeWidth: 1, interpolate: 'step-after' },
    encoding: {
      x: { field: 't', type: 'quantitative', title: o.x },
      y: { field: 'mbps', type: 'quantitative', title: o.y },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
    },
  }];
  if (o.rule !== undefined) layers.push({ mark: { type: 'rule', strokeDash: [4, 4], color: 'black' }, encoding: { y: { datum: o.rule, type: 'quantitative' } } });
  const panels = points.some((p) => p.panel !== undefined);
  const spec = panels
    ? { title: o.title, data: { values: points }, facet: { column: { field: 'panel', type: 'nominal', title: null } }, spec: { width: 420, height: 260, layer: layers } }
    : { title: o.title, data: { values: points }, width: 760, height: 300, layer: layers };
  return new vega.View(vega.parse(compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec } as never).spec), { renderer: 'none' }).toSVG();
}

/** Bars of `points` (a bar per series, its height mbps; side by side in panels) as an SVG document. */
export async function plotBars(points: PlotPoint[], o: { title: string; y: string }): Promise<string> {
  const spec = {
    title: o.title, data: { values: points }, facet: { column: { field: 'panel', type: 'nominal', title: null } },
    spec: { width: 200, height: 240, mark: 'bar', encoding: { x: { field: 'series', type: 'nominal', title: null, axis: { labelAngle: 0 } }, y: { field: 'mbps', type: 'quantitative', title: o.y }, color: { field: 'series', type: 'nominal', legend: null } } },
  };
  return new vega.View(vega.parse(compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec } as never).spec), { renderer: 'none' }).toSVG();
}
