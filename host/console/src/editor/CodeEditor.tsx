// A code editor for one text (CodeMirror 6): JavaScript, TypeScript or JSON highlighting, line
// numbers, and problems marked at their line and column as lint diagnostics (a refusal of the
// API, a TypeScript error).
//
// The editor lives in a shadow root of its own. CodeMirror injects its styles with style-mod,
// which writes a <style> element into a document (inline style: the console's
// Content-Security-Policy, `style-src 'self'`, refuses it and the editor would be unstyled) but
// gives a shadow root a constructable stylesheet (adoptedStyleSheets), which the policy allows.
// Element styles it sets go through the CSSOM, which the policy allows too. So the policy stays
// as strict as it is, and what the console's own stylesheet would say inside is a theme here.

import { useEffect, useRef } from "preact/hooks";
import { basicSetup } from "codemirror";
import { Compartment, EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";

export type Language = "javascript" | "typescript" | "json";

/** A problem at a 1-based line and column. */
export interface Problem {
  line: number;
  column: number;
  message: string;
}

/** The frame of the editor, inside its shadow root (the console's stylesheet does not reach there). */
const frame = EditorView.theme({
  "&": { maxHeight: "36rem", fontSize: "0.88rem", backgroundColor: "#ffffff" },
  "&.cm-focused": { outline: "2px solid #f0a500", outlineOffset: "1px" },
  ".cm-scroller": { fontFamily: "ui-monospace, Menlo, Consolas, monospace", minHeight: "8rem" },
});

function languageOf(language: Language) {
  return language === "json" ? json() : javascript({ typescript: language === "typescript" });
}

export function CodeEditor(props: {
  value: string;
  onChange: (value: string) => void;
  language: Language;
  problems: Problem[];
  /** The accessible name of the text. */
  label: string;
  testId: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  const language = useRef(new Compartment());

  useEffect(() => {
    const root = host.current!.shadowRoot ?? host.current!.attachShadow({ mode: "open" });
    const editor = new EditorView({
      parent: root,
      root,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          basicSetup,
          frame,
          language.current.of(languageOf(props.language)),
          lintGutter(),
          EditorView.contentAttributes.of({ "aria-label": props.label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChange.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
  }, []);

  // A text set from outside (another version's settings chosen) replaces the editor's.
  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== props.value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(languageOf(props.language)) });
  }, [props.language]);

  const problems = JSON.stringify(props.problems);
  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const doc = editor.state.doc;
    const diagnostics: Diagnostic[] = props.problems.map((problem) => {
      const line = doc.line(Math.min(Math.max(problem.line, 1), doc.lines));
      const from = Math.min(line.from + Math.max(problem.column - 1, 0), line.to);
      // To the end of the line, or the character at the position when it is at the end.
      const to = from < line.to ? line.to : Math.min(from + 1, doc.length);
      return { from, to, severity: "error", message: problem.message };
    });
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [problems]);

  return <div class="code-editor" ref={host} data-testid={props.testId} />;
}
