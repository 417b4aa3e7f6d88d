import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { call, callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { useRuns } from '../runs/runs-store.ts';
import {
  formProblems,
  initialValues,
  multiplicities,
  parametersOf,
  sizeLimits,
  type Preflight,
} from './deploy-form.ts';
import { FormFieldInput } from './FormFieldInput.tsx';
import { PreflightPanel } from './PreflightPanel.tsx';
import './store.css';

type AppDetail = RouteOutput<'getApp'>;
type Cloud = RouteOutput<'listClouds'>[number];

/** The deploy form of an app, generated from its manifest's form, with the pre-flight beside it. */
export function DeployPage() {
  const { id = '' } = useParams();
  const [app, setApp] = useState<AppDetail | null>(null);
  const [clouds, setClouds] = useState<Cloud[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    void callSafe('getApp', { params: { id } }).then((result) =>
      result.ok ? setApp(result.value) : setError(result.error),
    );
    void call('listClouds')
      .then(setClouds)
      .catch(() => setClouds([]));
  }, [id]);
  if (!app) {
    return (
      <section aria-labelledby="deploy-title">
        <h1 id="deploy-title">Deploy</h1>
        {error ? <ErrorText error={error} /> : <p role="status">Loading…</p>}
      </section>
    );
  }
  return <DeployForm key={app.version} app={app} clouds={clouds} />;
}

function DeployForm({ app, clouds }: { app: AppDetail; clouds: Cloud[] }) {
  const navigate = useNavigate();
  const [values, setValues] = useState(() => initialValues(app.form));
  const [title, setTitle] = useState('');
  const [placement, setPlacement] = useState<Record<string, string>>({});
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [preflight, setPreflight] = useState<Preflight | null>(null);
  const [preflightError, setPreflightError] = useState<ApiError | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const isPending = useRuns((state) => state.pending.some((deploy) => deploy.appId === app.id));
  const addPending = useRuns((state) => state.addPending);
  const removePending = useRuns((state) => state.removePending);
  const form = useRef<HTMLFormElement>(null);

  // The pre-flight follows the sizes and placement asked, and anything that changes what is left.
  const sizes = useMemo(() => multiplicities(app.form, values), [app.form, values]);
  const asked = JSON.stringify({ sizes, placement });
  const latest = useRef(asked);
  latest.current = asked;
  const check = useCallback(async () => {
    const request = JSON.parse(asked) as {
      sizes: Record<string, number>;
      placement: Record<string, string>;
    };
    const result = await callSafe('preflightApp', {
      params: { id: app.id },
      body: { placement: request.placement, multiplicity: request.sizes },
    });
    if (latest.current !== asked) return;
    setPreflight(result.ok ? result.value : null);
    setPreflightError(result.ok ? null : result.error);
  }, [app.id, asked]);
  useLiveLoad(check, (event) => ['capacity', 'image', 'cloud'].includes(event.subject.kind));

  const limits = useMemo(() => sizeLimits(app.form, preflight), [app.form, preflight]);
  const problems = formProblems(app.form, values, limits);
  const isValid = Object.keys(problems).length === 0;

  async function deploy(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    if (!isValid) {
      form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    const key = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    addPending({
      key,
      appId: app.id,
      title: title.trim() || app.title,
      startedAt: new Date().toISOString(),
    });
    const result = await callSafe('deployApp', {
      params: { id: app.id },
      body: {
        ...(title.trim() ? { title: title.trim() } : {}),
        parameters: parametersOf(app.form, values),
        placement,
        multiplicity: {},
      },
    });
    removePending(key);
    if (result.ok) void navigate(`/runs/${result.value.id}`);
    else setError(result.error);
  }

  const choosable = preflight?.nodes.filter((node) => node.cloudChoice === 'any') ?? [];
  return (
    <section aria-labelledby="deploy-title">
      <p>
        <Link to={`/store/${app.id}`}>← {app.title}</Link>
      </p>
      <h1 id="deploy-title">Deploy {app.title}</h1>
      <div className="deploy-grid">
        <form
          ref={form}
          className="panel deploy-form"
          onSubmit={(event) => void deploy(event)}
          noValidate
          aria-label={`Deploy ${app.title}`}
        >
          <label>
            Run title (optional)
            <input
              value={title}
              onChange={(event) => setTitle(event.target.value)}
              placeholder={app.title}
              maxLength={200}
            />
          </label>
          {app.form.map((field) => (
            <FormFieldInput
              key={field.key}
              field={field}
              value={values[field.key] ?? ''}
              limit={limits[field.key]}
              problem={submitted || touched.has(field.key) ? (problems[field.key] ?? null) : null}
              onChange={(value) => {
                setValues((previous) => ({ ...previous, [field.key]: value }));
                setTouched((previous) => new Set(previous).add(field.key));
              }}
            />
          ))}
          {choosable.length > 0 && clouds.length > 1 && (
            <fieldset>
              <legend>Where each node runs</legend>
              {choosable.map((node) => (
                <label key={node.name}>
                  Cloud for {node.name}
                  <select
                    value={placement[node.name] ?? node.cloudId}
                    onChange={(event) =>
                      setPlacement({ ...placement, [node.name]: event.target.value })
                    }
                  >
                    {clouds.map((cloud) => (
                      <option key={cloud.id} value={cloud.id}>
                        {cloud.name}
                        {cloud.status.reachable ? '' : ' (unreachable)'}
                      </option>
                    ))}
                  </select>
                </label>
              ))}
            </fieldset>
          )}
          {preflight?.nodes.some((node) => node.cloudChoice === 'box') && (
            <p className="muted">
              {preflight.nodes
                .filter((node) => node.cloudChoice === 'box')
                .map((node) => node.name)
                .join(', ')}{' '}
              may only run on this box.
            </p>
          )}
          <ErrorText error={error} />
          <div className="actions">
            <button
              type="submit"
              className="large"
              disabled={isPending || preflight?.ok !== true}
              aria-describedby="preflight-status"
            >
              {isPending ? 'Deploying…' : 'Deploy'}
            </button>
          </div>
        </form>
        <PreflightPanel preflight={preflight} error={preflightError} />
      </div>
    </section>
  );
}
