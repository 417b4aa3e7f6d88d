import { useState, type FormEvent } from 'react';
import type { RouteInput } from '../../../../appliance/src/api/contract.ts';
import { callSafe, uploadSafe, type ApiError } from '../../api/client.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { formatBytes } from '../../ui/format-bytes.ts';
import { useEventStream, useLiveLoad } from '../../app/live.ts';
import { useBox, type Image } from './box-store.ts';
import { imageNameOf } from './box-format.ts';
import { ImportMeter } from './ImportMeter.tsx';

/**
 * The base images in the box's image store. Administrators import one from files on the box
 * (a USB stick), upload one, or delete one (refused while a VM uses it).
 */
export function ImagesPanel({ isAdmin }: { isAdmin: boolean }) {
  const images = useBox((state) => state.images);
  const progress = useBox((state) => state.progress);
  const loadImages = useBox((state) => state.loadImages);
  const [deleting, setDeleting] = useState<Image | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useLiveLoad(loadImages, (event) => event.subject.kind === 'image');

  async function remove(image: Image) {
    setDeleting(null);
    const result = await callSafe('deleteImage', { params: { id: image.id } });
    setError(result.ok ? null : result.error);
  }

  return (
    <div className="panel">
      <h2 id="box-images">Base images</h2>
      <ErrorText error={images.error} />
      {images.value && (
        <div className="table-scroll">
          <table aria-labelledby="box-images">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Size</th>
                <th scope="col">Added</th>
                {isAdmin && (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {images.value.map((image) => (
                <tr key={image.id} data-image={image.name}>
                  <th scope="row">{image.name}</th>
                  <td>{image.kind === 'disk' ? 'qcow2 disk' : 'kernel + initrd'}</td>
                  <td>
                    {image.status === 'importing' ? (
                      <ImportMeter
                        label={`Importing ${image.name}`}
                        progress={progress[`image:${image.id}`] ?? null}
                      />
                    ) : image.status === 'ready' ? (
                      <span className="badge state-good">ready</span>
                    ) : (
                      <>
                        <span className="badge state-bad">unusable</span>{' '}
                        <span className="error">{image.error}</span>
                      </>
                    )}
                  </td>
                  <td>{formatBytes(image.sizeBytes)}</td>
                  <td>{new Date(image.createdAt).toLocaleString()}</td>
                  {isAdmin && (
                    <td>
                      <button
                        type="button"
                        className="danger"
                        onClick={() => setDeleting(image)}
                        aria-label={`Delete ${image.name}`}
                      >
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
              {images.value.length === 0 && (
                <tr>
                  <td colSpan={isAdmin ? 6 : 5}>
                    No base images yet{isAdmin ? ': import or upload one below.' : '.'}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <ErrorText error={error} />
      {isAdmin && (
        <div className="box-forms">
          <ImportImageForm />
          <UploadImageForm />
        </div>
      )}
      <Confirm
        open={deleting !== null}
        title="Delete image?"
        message={`${deleting?.name ?? ''} is removed from the box's disk. Modules that name it cannot deploy until it is imported again. The box refuses while a VM uses it.`}
        action="Delete image"
        onConfirm={() => deleting && void remove(deleting)}
        onCancel={() => setDeleting(null)}
      />
    </div>
  );
}

type ImportBody = RouteInput<'importImage'>['body'];

/** Import from files on the box: a qcow2 disk, or a kernel and initrd. Progress shows in the list. */
function ImportImageForm() {
  const [kind, setKind] = useState<'disk' | 'kernel'>('disk');
  const [fields, setFields] = useState({
    name: '',
    path: '',
    kernel: '',
    initrd: '',
    cmdline: 'console=ttyS0',
    sha256: '',
  });
  const [error, setError] = useState<ApiError | null>(null);
  const [started, setStarted] = useState<{ id: string; message: string } | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (key: keyof typeof fields) => (value: string) =>
    setFields({ ...fields, [key]: value });
  // An import by path ends after its answer: a failure reaches the administrator as an event.
  useEventStream(
    (event) => {
      if (event.type === 'image.failed' && event.subject.id === started?.id) {
        setStarted(null);
        setFailed(event.data.error);
      }
    },
    () => undefined,
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    const name = fields.name.trim();
    const sha256 = fields.sha256.trim() ? { sha256: fields.sha256.trim() } : {};
    const body: ImportBody =
      kind === 'disk'
        ? { kind, name, path: fields.path.trim(), ...sha256 }
        : {
            kind,
            name,
            kernel: { path: fields.kernel.trim() },
            initrd: { path: fields.initrd.trim() },
            cmdline: fields.cmdline,
          };
    setBusy(true);
    setStarted(null);
    setFailed(null);
    const result = await callSafe('importImage', { body });
    setBusy(false);
    setError(result.ok ? null : result.error);
    if (result.ok) {
      setStarted({
        id: result.value.id,
        message: `Importing ${result.value.name}; its progress shows in the list.`,
      });
      setFields({ ...fields, name: '', path: '', kernel: '', initrd: '', sha256: '' });
    }
  }

  const pathField = (key: 'path' | 'kernel' | 'initrd', label: string, placeholder: string) => (
    <label>
      {label}
      <input
        value={fields[key]}
        onChange={(event) => set(key)(event.target.value)}
        placeholder={placeholder}
        required
        pattern="/.*"
        title="An absolute path on the box"
        spellCheck={false}
      />
    </label>
  );
  return (
    <form
      className="box-form"
      onSubmit={(event) => void submit(event)}
      aria-labelledby="import-image-title"
    >
      <h3 id="import-image-title">Import from the box&apos;s files</h3>
      <label>
        Kind
        <select value={kind} onChange={(event) => setKind(event.target.value as 'disk' | 'kernel')}>
          <option value="disk">qcow2 disk</option>
          <option value="kernel">kernel + initrd</option>
        </select>
      </label>
      <label>
        Image name
        <input
          value={fields.name}
          onChange={(event) => set('name')(event.target.value)}
          required
          maxLength={64}
        />
      </label>
      {kind === 'disk' ? (
        <>
          {pathField('path', 'Path on the box', '/media/usb/debian-12-generic-amd64.qcow2')}
          <label>
            sha256 (optional, checked before the image is kept)
            <input
              value={fields.sha256}
              onChange={(event) => set('sha256')(event.target.value)}
              pattern="[A-Fa-f0-9]{64}"
              title="64 hexadecimal digits"
              spellCheck={false}
            />
          </label>
        </>
      ) : (
        <>
          {pathField('kernel', 'Kernel path', '/media/usb/vmlinuz')}
          {pathField('initrd', 'Initrd path', '/media/usb/initrd.img')}
          <label>
            Kernel command line
            <input
              value={fields.cmdline}
              onChange={(event) => set('cmdline')(event.target.value)}
              maxLength={1024}
            />
          </label>
        </>
      )}
      <ErrorText error={error} />
      {failed && (
        <p role="alert" className="error">
          {failed}
        </p>
      )}
      {started && <p role="status">{started.message}</p>}
      <button type="submit" disabled={busy}>
        Import
      </button>
    </form>
  );
}

/** Upload a qcow2 from this computer: streamed to the box, verified there, then listed. */
function UploadImageForm() {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [sha256, setSha256] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!file) return;
    const form = event.currentTarget;
    setBusy(true);
    setDone(null);
    const result = await uploadSafe('uploadImage', file, {
      query: { name: name.trim(), ...(sha256.trim() ? { sha256: sha256.trim() } : {}) },
    });
    setBusy(false);
    setError(result.ok ? null : result.error);
    if (result.ok) {
      setDone(
        `Uploaded ${result.value.name} (${formatBytes(result.value.sizeBytes)}), verified and ready.`,
      );
      setFile(null);
      setName('');
      setSha256('');
      form.reset();
    }
  }

  return (
    <form
      className="box-form"
      onSubmit={(event) => void submit(event)}
      aria-labelledby="upload-image-title"
    >
      <h3 id="upload-image-title">Upload a qcow2 disk</h3>
      <label>
        File
        <input
          type="file"
          accept=".qcow2,.img,application/octet-stream"
          required
          onChange={(event) => {
            const chosen = event.target.files?.[0] ?? null;
            setFile(chosen);
            if (chosen && !name) setName(imageNameOf(chosen.name));
          }}
        />
      </label>
      <label>
        Image name
        <input
          value={name}
          onChange={(event) => setName(event.target.value)}
          required
          maxLength={64}
        />
      </label>
      <label>
        sha256 (optional)
        <input
          value={sha256}
          onChange={(event) => setSha256(event.target.value)}
          pattern="[A-Fa-f0-9]{64}"
          title="64 hexadecimal digits"
          spellCheck={false}
        />
      </label>
      <ErrorText error={error} />
      {done && <p role="status">{done}</p>}
      <button type="submit" disabled={busy || !file}>
        {busy ? 'Uploading…' : 'Upload'}
      </button>
    </form>
  );
}
