// Choosing a module's .wasm file: with the file picker, or by dropping the file on the area
// around it (components/FileDrop.tsx). A dropped file that is not a .wasm is refused there.

import { FileDrop, type FileKind } from "./FileDrop";

const WASM: FileKind = {
  label: "Module (.wasm)",
  name: "wasm",
  extension: ".wasm",
  accept: ".wasm,application/wasm",
  noun: "module",
  testId: "wasm",
};

export function WasmFile(props: { file: File | null; onFile: (file: File | null) => void }) {
  return <FileDrop kind={WASM} file={props.file} onFile={props.onFile} />;
}
