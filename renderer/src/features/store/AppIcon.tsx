/** An app's bundled icon, or its initial when it has none; decorative, its title is beside it. */
export function AppIcon({
  url,
  title,
  size = 64,
}: {
  url: string | null;
  title: string;
  size?: number;
}) {
  if (url) return <img className="app-icon" src={url} alt="" width={size} height={size} />;
  return (
    <span className="app-icon placeholder" aria-hidden="true" style={{ width: size, height: size }}>
      {title.slice(0, 1).toUpperCase()}
    </span>
  );
}
