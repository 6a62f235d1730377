// TypeScript for the js-rules module: sucrase strips the types (and nothing else: no downlevelling,
// no module rewriting), keeping every line where it was, so a line the module names in the
// JavaScript is the same line of the TypeScript. A source that does not parse is answered with
// sucrase's line and column, never thrown.

import { transform } from "sucrase";

export type Transpiled =
  | { code: string; error?: undefined }
  | { code?: undefined; error: { line: number; column: number; message: string } };

export function transpile(source: string): Transpiled {
  try {
    return { code: transform(source, { transforms: ["typescript"], disableESTransforms: true }).code };
  } catch (caught) {
    const error = caught as Error & { loc?: { line: number; column: number } };
    const message = error.message.replace(/ \(\d+:\d+\)$/, "");
    return { error: { line: error.loc?.line ?? 1, column: error.loc?.column ?? 1, message } };
  }
}
