// Choosing one file of a kind (a module's .wasm, a .csv of users): with the file picker, or by
// dropping the file on the area around it. A dropped file of another kind is refused here (the
// picker offers only the right kind); while the area is shown, a file dropped anywhere else on
// the page is ignored rather than opened by the browser in place of the console.

import { useEffect, useRef, useState } from "preact/hooks";

function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes("Files");
}

export interface FileKind {
  /** The picker's label: `Module (.wasm)`. */
  label: string;
  /** The input's name. */
  name: string;
  /** The file name's ending, lower case: `.wasm`. */
  extension: string;
  /** The picker's `accept`. */
  accept: string;
  /** What such a file is, for the refusal: `module` → "Not a module: notes.txt." */
  noun: string;
  /** The prefix of the area's test ids: `<prefix>-drop`, `<prefix>-chosen`, `<prefix>-message`. */
  testId: string;
}

export function FileDrop(props: { kind: FileKind; file: File | null; onFile: (file: File | null) => void }) {
  const { kind } = props;
  const input = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [message, setMessage] = useState<{ text: string; refused: boolean } | null>(null);
  // dragenter and dragleave fire for every element inside the area: count them.
  const depth = useRef(0);

  useEffect(() => {
    const ignore = (event: DragEvent) => {
      if (hasFiles(event)) event.preventDefault();
    };
    window.addEventListener("dragover", ignore);
    window.addEventListener("drop", ignore);
    return () => {
      window.removeEventListener("dragover", ignore);
      window.removeEventListener("drop", ignore);
    };
  }, []);

  // Cleared by the page (after an upload): the picker forgets the file too.
  useEffect(() => {
    if (!props.file && input.current) input.current.value = "";
  }, [props.file]);

  const drop = (event: DragEvent) => {
    event.preventDefault();
    event.stopPropagation();
    depth.current = 0;
    setDragging(false);
    const files = Array.from(event.dataTransfer?.files ?? []);
    const chosen = files.find((file) => file.name.toLowerCase().endsWith(kind.extension));
    if (!chosen) {
      const names = files.map((file) => file.name).join(", ") || "nothing";
      setMessage({ text: `Not a ${kind.noun}: ${names}. Drop a ${kind.extension} file.`, refused: true });
      return;
    }
    setMessage(files.length > 1 ? { text: `Several files were dropped; ${chosen.name} is the ${kind.noun} used.`, refused: false } : null);
    // Show the dropped file in the picker too, so the form reads the same either way.
    if (input.current && event.dataTransfer) {
      const transfer = new DataTransfer();
      transfer.items.add(chosen);
      input.current.files = transfer.files;
    }
    props.onFile(chosen);
  };

  return (
    <div
      class={dragging ? "dropzone dragging" : "dropzone"}
      data-testid={`${kind.testId}-drop`}
      onDragEnter={(event) => {
        if (!hasFiles(event)) return;
        event.preventDefault();
        depth.current++;
        setDragging(true);
        setMessage(null);
      }}
      onDragOver={(event) => {
        if (!hasFiles(event)) return;
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
      }}
      onDragLeave={() => {
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      }}
      onDrop={drop}
    >
      <label>
        {kind.label}
        <input
          ref={input}
          type="file"
          name={kind.name}
          accept={kind.accept}
          onChange={(e) => {
            setMessage(null);
            props.onFile(e.currentTarget.files?.[0] ?? null);
          }}
        />
      </label>
      <p class="muted small" data-testid={`${kind.testId}-chosen`}>
        {props.file
          ? `${props.file.name}, ${props.file.size.toLocaleString("en")} bytes`
          : dragging
            ? "Drop it here."
            : "Choose the file, or drop it here."}
      </p>
      {message && (
        <p class={message.refused ? "field-error" : "muted small"} data-testid={`${kind.testId}-message`}>
          {message.text}
        </p>
      )}
    </div>
  );
}
