import { useEffect, useRef, useState } from 'react';
import type { ShellEditor } from './shell-editor.ts';

/**
 * A shell script in CodeMirror, loaded on first use (a separate chunk of the build). Until it
 * has loaded the text is shown as it is; typing goes through `onChange`.
 */
export function CodeEditor({
  value,
  label,
  readOnly,
  onChange,
}: {
  value: string;
  label: string;
  readOnly: boolean;
  onChange: (value: string) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<ShellEditor | null>(null);
  const latest = useRef({ value, readOnly, onChange });
  const [failure, setFailure] = useState<string | null>(null);
  const [isLoaded, setLoaded] = useState(false);
  useEffect(() => {
    latest.current = { value, readOnly, onChange };
  });
  useEffect(() => {
    let isCancelled = false;
    import('./shell-editor.ts')
      .then(({ createShellEditor }) => {
        if (isCancelled || !host.current) return;
        editor.current = createShellEditor(host.current, {
          text: latest.current.value,
          label,
          readOnly: latest.current.readOnly,
          onChange: (text) => latest.current.onChange(text),
        });
        setLoaded(true);
      })
      .catch((error: unknown) => setFailure((error as Error).message));
    return () => {
      isCancelled = true;
      editor.current?.destroy();
      editor.current = null;
    };
  }, [label]);
  useEffect(() => editor.current?.setText(value), [value]);
  useEffect(() => editor.current?.setReadOnly(readOnly), [readOnly]);
  return (
    <div className="code-editor">
      <div ref={host} />
      {!isLoaded && !failure && <pre className="code-fallback">{value || ' '}</pre>}
      {failure && (
        <p className="error" role="alert">
          The editor did not load ({failure}); reload the page.
        </p>
      )}
    </div>
  );
}
