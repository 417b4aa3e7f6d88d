/**
 * What a page that failed shows in place of the router's developer screen: a sentence and a way
 * to load it again, usable in the kiosk, which has no reload button of its own.
 */
export function PageError() {
  return (
    <main className="centered">
      <div role="alert">
        <p>Something went wrong on this page.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Load it again
        </button>
      </div>
    </main>
  );
}
