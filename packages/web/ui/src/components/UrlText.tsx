import { useState } from 'preact/hooks';

/** Whether a string is an http(s) URL (the only kind the UI offers to open). */
export function isOpenableUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * A URL from a feed or a source, shown as text (never a link). "open…" asks first, showing the
 * full URL, and opens only http(s) URLs, in a new tab without referrer or opener.
 */
export function UrlText({ url }: { url: string }) {
  const [confirming, setConfirming] = useState(false);
  const openable = isOpenableUrl(url);
  return (
    <span class="url">
      <code class="url-text">{url}</code>
      {openable ? (
        <button type="button" class="btn-small" onClick={() => setConfirming(true)}>
          open…
        </button>
      ) : null}
      {confirming ? (
        <div class="modal-backdrop">
          <div class="modal" role="dialog" aria-modal="true" aria-label="Open external URL">
            <h3>Open this URL?</h3>
            <p>It comes from a feed or source and may be malicious. Full URL:</p>
            <pre class="url-full">{url}</pre>
            <div class="modal-actions">
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
              <button
                type="button"
                class="btn-danger"
                onClick={() => {
                  setConfirming(false);
                  window.open(url, '_blank', 'noopener,noreferrer');
                }}
              >
                Open in a new tab
              </button>
            </div>
          </div>
        </div>
      ) : null}
    </span>
  );
}
