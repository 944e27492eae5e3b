/**
 * The PromQL editor: CodeMirror 6 with the Prometheus project's PromQL language
 * (highlighting, and completion of functions, metric names, label names and values
 * asked of meetr's own /api/v1 with the page's token). Enter runs the query unless
 * completions are shown, when it takes the selected one; Shift-Enter breaks the line.
 */
import {
  acceptCompletion,
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
  currentCompletions,
} from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { apiFetch } from './api';

export interface Editor {
  readonly text: () => string;
  readonly setText: (text: string) => void;
  readonly focus: () => void;
}

export function createEditor(parent: HTMLElement, initial: string, run: () => void): Editor {
  const promql = new PromQLExtension().activateLinter(false).setComplete({
    remote: {
      url: location.origin,
      httpMethod: 'GET',
      fetchFn: (input, init) => apiFetch(input, init),
      cache: { maxAge: 60_000 },
    },
  });
  const runKey = Prec.highest(
    keymap.of([
      {
        key: 'Enter',
        // While completions are shown (even as a remote answer is awaited) Enter takes the selected one.
        run: (view) => {
          if (currentCompletions(view.state).length > 0) acceptCompletion(view);
          else run();
          return true;
        },
      },
      { key: 'Shift-Enter', run: insertNewlineAndIndent },
    ]),
  );
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        runKey,
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion({ interactionDelay: 0 }),
        syntaxHighlighting(defaultHighlightStyle),
        placeholder('PromQL, e.g. rate(meetr_points_written_total[5m]) — Enter runs it'),
        keymap.of([...closeBracketsKeymap, ...completionKeymap, ...historyKeymap, ...defaultKeymap]),
        EditorView.lineWrapping,
        promql.asExtension(),
      ],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    setText: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    focus: () => view.focus(),
  };
}
