// Choosing a module's .wasm file: with the file picker, or by dropping the file on the area
// around it. A dropped file that is not a .wasm is refused here (the picker offers only .wasm);
// while the area is shown, a file dropped anywhere else on the page is ignored rather than opened
// by the browser in place of the console.

import { useEffect, useRef, useState } from "preact/hooks";

function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes("Files");
}

export function WasmFile(props: { file: File | null; onFile: (file: File | null) => void }) {
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

  const drop = (event: DragEvent) => {
    event.preventDefault();
    event.stopPropagation();
    depth.current = 0;
    setDragging(false);
    const files = Array.from(event.dataTransfer?.files ?? []);
    const wasm = files.find((file) => file.name.toLowerCase().endsWith(".wasm"));
    if (!wasm) {
      const names = files.map((file) => file.name).join(", ") || "nothing";
      setMessage({ text: `Not a module: ${names}. Drop a .wasm file.`, refused: true });
      return;
    }
    setMessage(files.length > 1 ? { text: `Several files were dropped; ${wasm.name} is the module used.`, refused: false } : null);
    // Show the dropped file in the picker too, so the form reads the same either way.
    if (input.current && event.dataTransfer) {
      const transfer = new DataTransfer();
      transfer.items.add(wasm);
      input.current.files = transfer.files;
    }
    props.onFile(wasm);
  };

  return (
    <div
      class={dragging ? "dropzone dragging" : "dropzone"}
      data-testid="wasm-drop"
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
        Module (.wasm)
        <input
          ref={input}
          type="file"
          name="wasm"
          accept=".wasm,application/wasm"
          onChange={(e) => {
            setMessage(null);
            props.onFile(e.currentTarget.files?.[0] ?? null);
          }}
        />
      </label>
      <p class="muted small" data-testid="wasm-chosen">
        {props.file
          ? `${props.file.name}, ${props.file.size.toLocaleString("en")} bytes`
          : dragging
            ? "Drop it here."
            : "Choose the file, or drop it here."}
      </p>
      {message && (
        <p class={message.refused ? "field-error" : "muted small"} data-testid="wasm-message">
          {message.text}
        </p>
      )}
    </div>
  );
}
