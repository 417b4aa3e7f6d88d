/**
 * The recipe editor: CodeMirror 6 with shell highlighting. Only CodeEditor.tsx imports this
 * file, and dynamically, so the editor's code loads with the first recipe shown, never with the
 * first screen.
 */
import { StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { Annotation, Compartment, EditorState } from '@codemirror/state';
import { classHighlighter } from '@lezer/highlight';
import { basicSetup, EditorView } from 'codemirror';

export interface ShellEditorOptions {
  text: string;
  /** The accessible name of the editing area. */
  label: string;
  readOnly: boolean;
  onChange(text: string): void;
}

/** A mounted editor; `destroy` removes it. */
export interface ShellEditor {
  /** Replaces the text when it differs (a reload), without reporting it through `onChange`. */
  setText(text: string): void;
  setReadOnly(readOnly: boolean): void;
  destroy(): void;
}

/** Colours come from the page's theme variables, so the editor follows light and dark. */
const theme = EditorView.theme({
  '&': {
    backgroundColor: 'var(--card)',
    color: 'var(--fg)',
    border: '1px solid var(--line)',
    borderRadius: '8px',
  },
  '&.cm-focused': { outline: '3px solid var(--focus)', outlineOffset: '2px' },
  '.cm-content': {
    fontFamily: 'ui-monospace, monospace',
    caretColor: 'var(--fg)',
    minHeight: '6rem',
  },
  '.cm-cursor': { borderLeftColor: 'var(--fg)' },
  '.cm-gutters': {
    backgroundColor: 'var(--bg)',
    color: 'var(--muted)',
    borderRight: '1px solid var(--line)',
  },
  '.cm-activeLine, .cm-activeLineGutter': {
    backgroundColor: 'color-mix(in srgb, var(--accent) 10%, transparent)',
  },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
    backgroundColor: 'color-mix(in srgb, var(--focus) 30%, transparent)',
  },
});

/**
 * Marks a change the page made (a reload through `setText`), so it is not reported back through
 * `onChange` as if the person had typed it.
 */
const fromPage = Annotation.define<boolean>();

const editability = (readOnly: boolean) => [
  EditorState.readOnly.of(readOnly),
  EditorView.editable.of(!readOnly),
];

/** Mounts an editor in `parent`. Tab is left to move the focus on (Escape then Tab from inside). */
export function createShellEditor(parent: HTMLElement, options: ShellEditorOptions): ShellEditor {
  const access = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.text,
      extensions: [
        basicSetup,
        StreamLanguage.define(shell),
        syntaxHighlighting(classHighlighter),
        theme,
        access.of(editability(options.readOnly)),
        EditorView.contentAttributes.of({ 'aria-label': options.label }),
        EditorView.updateListener.of((update) => {
          const isTyped = update.transactions.some(
            (transaction) => transaction.docChanged && transaction.annotation(fromPage) !== true,
          );
          if (isTyped) options.onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    setText(text) {
      const current = view.state.doc.toString();
      if (current !== text)
        view.dispatch({
          changes: { from: 0, to: current.length, insert: text },
          annotations: fromPage.of(true),
        });
    },
    setReadOnly(readOnly) {
      view.dispatch({ effects: access.reconfigure(editability(readOnly)) });
    },
    destroy() {
      view.destroy();
    },
  };
}
