// A small grouped column chart over days, drawn as inline SVG like BarChart (attributes only, no
// inline style, so the Content-Security-Policy allows it): per day one column per series side by
// side (evaluations, differing, failed), the days between the first and the last (and before,
// up to a week) filled with zeros, a legend, and the same numbers as a table for those who cannot see the chart.

import { plural } from "../util";

export interface DayCounts {
  /** The UTC day, `2026-12-07`. */
  day: string;
  evaluated: number;
  differing: number;
  failed: number;
}

const SERIES = [
  { key: "evaluated", label: "evaluations", tone: "neutral" },
  { key: "differing", label: "differing", tone: "warning" },
  { key: "failed", label: "failed", tone: "danger" },
] as const;

const WIDTH = 600;
const HEIGHT = 220;
const LEFT = 44;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 28;
/** At most this many days are drawn: the latest. */
export const MAX_DAYS = 60;
/** At least this many days are drawn (the days before the first as zeros), for a sense of time. */
const MIN_DAYS = 7;

function dayOf(millis: number): string {
  return new Date(millis).toISOString().slice(0, 10);
}

/**
 * Every day from the first to the last of `days` (the days without counts as zeros), at least
 * the MIN_DAYS up to the last, at most the latest MAX_DAYS.
 */
export function fillDays(days: DayCounts[]): DayCounts[] {
  if (days.length === 0) return [];
  const byDay = new Map(days.map((day) => [day.day, day]));
  const sorted = [...byDay.keys()].sort();
  const first = Date.parse(`${sorted[0]}T00:00:00Z`);
  const last = Date.parse(`${sorted[sorted.length - 1]}T00:00:00Z`);
  const filled: DayCounts[] = [];
  const from = Math.min(first, last - (MIN_DAYS - 1) * 86_400_000);
  for (let at = Math.max(from, last - (MAX_DAYS - 1) * 86_400_000); at <= last; at += 86_400_000) {
    const day = dayOf(at);
    filled.push(byDay.get(day) ?? { day, evaluated: 0, differing: 0, failed: 0 });
  }
  return filled;
}

export function DayChart(props: { days: DayCounts[]; title: string; testId?: string }) {
  const days = fillDays(props.days);
  // Days with evaluations before the first day drawn.
  const hidden = days.length > 0 ? props.days.filter((day) => day.day < days[0].day).length : 0;
  const top = Math.max(1, ...days.map((day) => day.evaluated));
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const group = plotWidth / Math.max(1, days.length);
  const bar = Math.max(1, Math.min(16, (group * 0.8) / SERIES.length));
  const y = (value: number) => TOP + plotHeight - (value / top) * plotHeight;
  const labelEvery = Math.ceil(days.length / 8);
  const ticks = top >= 2 ? [0, Math.round(top / 2), top] : [0, top];
  const description = days
    .filter((day) => day.evaluated > 0)
    .map((day) => `${day.day}: ${day.evaluated} evaluations, ${day.differing} differing, ${day.failed} failed`)
    .join("; ");
  return (
    <figure class="day-chart" data-testid={props.testId}>
      <svg class="bar-chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width="100%" role="img" aria-label={`${props.title}: ${description}`}>
        <title>{props.title}</title>
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={LEFT} x2={WIDTH - RIGHT} y1={y(tick)} y2={y(tick)} class="chart-grid" />
            <text x={LEFT - 6} y={y(tick)} class="bar-value" text-anchor="end" dominant-baseline="central">
              {tick}
            </text>
          </g>
        ))}
        {days.map((day, index) => {
          const x = LEFT + index * group + (group - bar * SERIES.length) / 2;
          return (
            <g key={day.day} data-day={day.day} data-evaluated={day.evaluated} data-differing={day.differing} data-failed={day.failed}>
              <title>{`${day.day}: ${day.evaluated} evaluations, ${day.differing} differing, ${day.failed} failed`}</title>
              {SERIES.map((series, s) => {
                const value = day[series.key];
                const height = value > 0 ? Math.max(1.5, (value / top) * plotHeight) : 0;
                return (
                  <rect
                    key={series.key}
                    x={x + s * bar}
                    y={TOP + plotHeight - height}
                    width={Math.max(0.5, bar - 1)}
                    height={height}
                    class={`bar bar-${series.tone}`}
                  />
                );
              })}
              {index % labelEvery === 0 && (
                <text x={LEFT + index * group + group / 2} y={HEIGHT - 8} class="bar-label" text-anchor="middle">
                  {day.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
        <line x1={LEFT} x2={WIDTH - RIGHT} y1={TOP + plotHeight} y2={TOP + plotHeight} class="chart-axis" />
      </svg>
      <figcaption>
        <ul class="legend" aria-label="Legend">
          {SERIES.map((series) => (
            <li key={series.key}>
              <span class={`swatch swatch-${series.tone}`} aria-hidden="true" /> {series.label}
            </li>
          ))}
          <li class="muted">
            per UTC day{hidden > 0 ? `; the latest ${MAX_DAYS} days drawn, ${plural(hidden, "earlier day")} in the numbers below` : ""}
          </li>
        </ul>
        <details>
          <summary>The numbers</summary>
          <div class="scroll">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">day</th>
                  {SERIES.map((series) => (
                    <th key={series.key} scope="col" class="num">
                      {series.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {props.days.map((day) => (
                  <tr key={day.day}>
                    <th scope="row">{day.day}</th>
                    {SERIES.map((series) => (
                      <td key={series.key} class="num">
                        {day[series.key]}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </figcaption>
    </figure>
  );
}
