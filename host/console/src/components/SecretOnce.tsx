// A secret the API shows once (an API key, a SCIM client secret): the value, a button that
// copies it, and the plain warning that it will not be shown again; `children`, what goes with
// it (a SCIM client's id and URLs), shown beside it.

import type { ComponentChildren } from "preact";
import { useCopy } from "./CopyValue";

export function SecretOnce(props: { label: string; value: string; onDone: () => void; children?: ComponentChildren }) {
  const { copy, said } = useCopy(props.value);
  return (
    <div class="secret-once" role="region" aria-label={props.label} data-testid="secret-once">
      <p>
        <strong>Copy the {props.label.toLowerCase()} now: you will not see it again.</strong> Muster keeps only its SHA-256; if it is lost,
        create a new one.
      </p>
      {props.children}
      <div class="secret-row">
        <code class="secret-value" data-testid="secret-value" tabIndex={0}>
          {props.value}
        </code>
        <button type="button" onClick={copy}>
          Copy
        </button>
        <button type="button" onClick={props.onDone}>
          Done
        </button>
      </div>
      {said}
    </div>
  );
}
