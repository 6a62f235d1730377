// A small horizontal bar chart drawn as inline SVG (attributes only, no inline style, so the
// console's Content-Security-Policy allows it): one bar per value, its length the value's share
// of `total`, labelled with the value. Scales with its container's width.

export interface Bar {
  label: string;
  value: number;
  /** A CSS class for the bar (its colour). */
  tone?: "neutral" | "warning" | "danger";
}

const WIDTH = 600;
const LABEL_WIDTH = 220;
const VALUE_WIDTH = 110;
const ROW = 30;
const BAR = 18;

export function BarChart(props: { bars: Bar[]; total: number; title: string; testId?: string }) {
  const track = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = props.bars.length * ROW + 4;
  const length = (value: number) => (props.total > 0 && value > 0 ? Math.max(2, (value / props.total) * track) : 0);
  const share = (value: number) => (props.total > 0 ? ` (${Math.round((value / props.total) * 100)}%)` : "");
  const description = props.bars.map((bar) => `${bar.label}: ${bar.value} of ${props.total}`).join("; ");
  return (
    <svg
      class="bar-chart"
      viewBox={`0 0 ${WIDTH} ${height}`}
      width="100%"
      role="img"
      aria-label={`${props.title}: ${description}`}
      data-testid={props.testId}
    >
      <title>{props.title}</title>
      {props.bars.map((bar, index) => {
        const y = index * ROW + 2;
        return (
          <g key={bar.label} data-bar={bar.label} data-value={bar.value}>
            <text x={LABEL_WIDTH - 8} y={y + BAR / 2} class="bar-label" text-anchor="end" dominant-baseline="central">
              {bar.label}
            </text>
            <rect x={LABEL_WIDTH} y={y} width={track} height={BAR} class="bar-track" rx="3" />
            <rect x={LABEL_WIDTH} y={y} width={length(bar.value)} height={BAR} class={`bar bar-${bar.tone ?? "neutral"}`} rx="3" />
            <text x={LABEL_WIDTH + track + 8} y={y + BAR / 2} class="bar-value" dominant-baseline="central">
              {bar.value}
              {share(bar.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
