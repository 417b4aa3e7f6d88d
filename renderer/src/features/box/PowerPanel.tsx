import { useState } from 'react';
import { callSafe, type ApiError } from '../../api/client.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';

type Action = 'poweroff' | 'reboot';

const words: Record<Action, { button: string; title: string; doing: string; message: string }> = {
  poweroff: {
    button: 'Power off',
    title: 'Power off the box?',
    doing: 'The box is powering off.',
    message:
      'Every VM on the box stops, and the box stays off until someone presses its power button. Every screen hears of it first.',
  },
  reboot: {
    button: 'Reboot',
    title: 'Reboot the box?',
    doing: 'The box is rebooting; this page reconnects when it is back.',
    message: 'Every VM on the box stops while it restarts. Every screen hears of it first.',
  },
};

/** Power off or reboot, each after a confirmation; the host's refusal is shown as it came. */
export function PowerPanel() {
  const [asking, setAsking] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  async function perform(action: Action) {
    setAsking(null);
    setBusy(true);
    setAnswer(null);
    const result = await callSafe('powerBox', { body: { action } });
    setBusy(false);
    setError(result.ok ? null : result.error);
    if (result.ok) setAnswer(words[action].doing);
  }

  return (
    <div className="panel">
      <h2 id="box-power">Power</h2>
      <p className="muted">Powering off or rebooting stops every VM on the box.</p>
      <div className="action-row">
        {(['poweroff', 'reboot'] as const).map((action) => (
          <button
            key={action}
            type="button"
            className="danger"
            disabled={busy}
            onClick={() => setAsking(action)}
          >
            {words[action].button}
          </button>
        ))}
      </div>
      {answer && <p role="status">{answer}</p>}
      <ErrorText error={error} />
      <Confirm
        open={asking !== null}
        title={asking ? words[asking].title : ''}
        message={asking ? words[asking].message : ''}
        action={asking ? words[asking].button : ''}
        onConfirm={() => asking && void perform(asking)}
        onCancel={() => setAsking(null)}
      />
    </div>
  );
}
