import { useEffect, useRef, useState } from 'react';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';

/** How long one request waits on the box for new console output. */
const waitSeconds = 15;

/**
 * An instance's serial console as it is written: the tail first, then each request waits on the
 * box for what comes next (a server-side wait, so nothing is polled), until the panel closes.
 */
export function InstanceConsole({ runId, instance }: { runId: string; instance: string }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const output = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let stopped = false;
    void (async () => {
      const first = await callSafe('instanceConsole', {
        params: { id: runId, instance },
        query: { wait: 0, tail: 64 * 1024 },
      });
      if (stopped) return;
      if (!first.ok) {
        setError(first.error);
        return;
      }
      setText(first.value.text);
      let after = first.value.sizeBytes;
      while (!stopped) {
        const next = await callSafe('instanceConsole', {
          params: { id: runId, instance },
          query: { after, wait: waitSeconds, tail: 64 * 1024 },
        });
        if (stopped) return;
        if (!next.ok) {
          setError(next.error);
          return;
        }
        // A shrunken log was rotated or restarted: show it from its new start.
        setText((previous) =>
          (next.value.fromBytes < after ? next.value.text : previous + next.value.text).slice(
            -256 * 1024,
          ),
        );
        after = next.value.sizeBytes;
      }
    })();
    return () => {
      stopped = true;
    };
  }, [runId, instance]);
  useEffect(() => {
    const element = output.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [text]);
  return (
    <div className="panel">
      <h2 id="console-title">Console of {instance}</h2>
      <ErrorText error={error} />
      {!error && (
        <pre className="console" ref={output} tabIndex={0} aria-labelledby="console-title">
          {text || 'Nothing written yet.'}
        </pre>
      )}
    </div>
  );
}
