// How far a paged run got (a preview, the audit log): how many it has read in how many pages,
// an indeterminate bar while it runs (the API does not say how many remain), and whether it
// finished or was cancelled.

export function RunProgress(props: { running: boolean; complete: boolean; cancelled: boolean; done: number; pages: number; noun: string }) {
  if (!props.running && !props.complete && !props.cancelled) return null;
  const state = props.running ? "running" : props.complete ? "complete" : "cancelled";
  return (
    <div class="run-progress" data-testid="run-progress" data-state={state}>
      {props.running && <progress aria-label="Progress" />}
      <p role="status">
        {props.done} {props.noun} in {props.pages} {props.pages === 1 ? "page" : "pages"}
        {props.running ? " so far…" : props.complete ? ": all of them." : ": cancelled, the figures cover only these."}
      </p>
    </div>
  );
}
