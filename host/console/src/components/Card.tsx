// A titled panel of a page: its heading (which names the section for screen readers), what can
// be done from its head, the error of loading what it shows, then its content.

import type { ComponentChildren } from "preact";
import { ErrorMessage } from "../util";

export function Card(props: {
  /** The heading's id, unique on the page. */
  id: string;
  title: ComponentChildren;
  /** Beside the heading: a link or a button. */
  head?: ComponentChildren;
  error?: Error | null;
  testId?: string;
  children?: ComponentChildren;
}) {
  return (
    <section class="card panel" aria-labelledby={props.id} data-testid={props.testId}>
      <div class="section-head">
        <h2 id={props.id}>{props.title}</h2>
        {props.head}
      </div>
      <ErrorMessage error={props.error} />
      {props.children}
    </section>
  );
}
