import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useEventStream, useLiveLoad } from '../../app/live.ts';
import { BundlesPanel } from './BundlesPanel.tsx';
import { useBox } from './box-store.ts';
import { HostFacts } from './HostFacts.tsx';
import { ImagesPanel } from './ImagesPanel.tsx';
import { LogsPanel } from './LogsPanel.tsx';
import { PowerPanel } from './PowerPanel.tsx';
import '../runs/runs.css';
import './box.css';

/**
 * The box itself: what the host is, its base images, and for administrators the app bundles it
 * trusts, its recent log lines and its power buttons.
 */
export function BoxPage() {
  const facts = useBox((state) => state.facts);
  const loadFacts = useBox((state) => state.loadFacts);
  const trackProgress = useBox((state) => state.trackProgress);
  const isAdmin = useApp((state) => state.session?.user.role === 'admin');
  // The host changes little: its facts are read again after a power action, not on every
  // metrics sample or log line, which would have the host read every few seconds.
  useLiveLoad(loadFacts, (event) => event.type === 'box.power');
  useEventStream(trackProgress, () => undefined);

  const parts = [
    ['box-host', 'Host'],
    ['box-images', 'Images'],
    ...(isAdmin
      ? [
          ['box-bundles', 'App bundles'],
          ['box-logs', 'Logs'],
          ['box-power', 'Power'],
        ]
      : []),
  ];
  return (
    <section aria-labelledby="box-title">
      <h1 id="box-title">Box</h1>
      <nav className="box-parts" aria-label="On this page">
        {parts.map(([id, label]) => (
          <a key={id} href={`#${id}`}>
            {label}
          </a>
        ))}
      </nav>
      <ErrorText error={facts.error} />
      {facts.value ? (
        <HostFacts facts={facts.value} />
      ) : (
        !facts.error && <p role="status">Loading…</p>
      )}
      <ImagesPanel isAdmin={isAdmin} />
      {isAdmin && (
        <>
          <BundlesPanel />
          <LogsPanel />
          <PowerPanel />
        </>
      )}
    </section>
  );
}
