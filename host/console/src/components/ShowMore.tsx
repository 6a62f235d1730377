// The rows of a long table a page at a time: the first `step`, then `step` more per click.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export function ShowMore<T>(props: { items: T[]; step?: number; children: (shown: T[]) => ComponentChildren }) {
  const step = props.step ?? 50;
  const [shown, setShown] = useState(step);
  const rest = props.items.length - shown;
  return (
    <>
      {props.children(props.items.slice(0, shown))}
      {rest > 0 && (
        <p>
          <button type="button" onClick={() => setShown(shown + step)}>
            Show {Math.min(step, rest)} more (of {rest})
          </button>
        </p>
      )}
    </>
  );
}
