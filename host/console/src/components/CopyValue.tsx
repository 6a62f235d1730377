// A value to paste elsewhere (a URL to configure the identity provider with): its label, the
// value, and a button that copies it, saying whether the browser allowed it.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

/** Copying `value` to the clipboard: the action, and what came of it as a status line. */
export function useCopy(value: string): { copy: () => Promise<void>; said: ComponentChildren } {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  };
  const said = (
    <p role="status" class="small">
      {copied === "yes" && "Copied to the clipboard."}
      {copied === "failed" && "The browser did not allow copying: select the value and copy it yourself."}
    </p>
  );
  return { copy, said };
}

export function CopyValue(props: { label: string; value: string; testId?: string }) {
  const { copy, said } = useCopy(props.value);
  return (
    <div class="copy-value" role="group" aria-label={props.label} data-testid={props.testId}>
      <span class="copy-label">{props.label}</span>
      <div class="secret-row">
        <code class="secret-value" data-testid={props.testId && `${props.testId}-value`} tabIndex={0}>
          {props.value}
        </code>
        <button type="button" onClick={copy} aria-label={`Copy the ${props.label}`}>
          Copy
        </button>
      </div>
      {said}
    </div>
  );
}
