// The "ACME sightings" page of the TIP web UI: a browser ES module, served by @tip/web at
// /ui/pages/acme.sightings.js and mounted in the UI's navigation. No build step, no framework.
// Every value comes from feeds, i.e. from attackers: it is written with textContent only, never
// as HTML.

// What @tip/web hands to a page (see docs/writing-a-plugin.md): `api` fetches `/api` paths with the
// user's session (and CSRF token for writes); `basePath` is where the UI is mounted; `navigate`
// goes to another UI route (`#/search?q=…`); `stream` subscribes to live events (SSE) and returns
// the function that closes the stream.
/**
 * @typedef {{
 *   api: { get(path: string): Promise<unknown>, post(path: string, body: unknown): Promise<unknown>, url(path: string): string },
 *   basePath: string,
 *   navigate(hash: string): void,
 *   stream?: (types: string[], onEvent: (event: { seq: number, type: string, at: string, data: unknown }) => void) => () => void,
 * }} PageContext
 */

/**
 * @typedef {object} SightingOut
 * @property {string} source
 * @property {string} value
 * @property {string} type
 * @property {number} confidence
 * @property {string} note
 * @property {string} lastSeen
 */

/**
 * Renders the page into `element`; returns the function that unmounts it.
 * @param {HTMLElement} element
 * @param {PageContext} ctx
 * @returns {() => void}
 */
export function mount(element, ctx) {
  const doc = element.ownerDocument;
  /** @type {<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string) => HTMLElementTagNameMap[K]} */
  const el = (tag, text) => {
    const node = doc.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const status = el('p', 'loading…');
  const minConfidence = el('input');
  minConfidence.type = 'number';
  minConfidence.min = '0';
  minConfidence.max = '100';
  minConfidence.value = '50';
  const label = el('label', 'minimum confidence ');
  label.append(minConfidence);
  const table = el('table');
  const head = el('tr');
  for (const h of ['value', 'type', 'confidence', 'source', 'last seen', 'note']) head.append(el('th', h));
  const body = el('tbody');
  table.append(el('thead'), body);
  /** @type {HTMLElement} */ (table.firstChild).append(head);
  element.replaceChildren(el('h1', 'ACME sightings'), label, status, table);

  let alive = true;
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    try {
      const min = Math.max(0, Math.min(100, Number(minConfidence.value) || 0));
      const answer = /** @type {{ items: SightingOut[] }} */ (await ctx.api.get(`/acme/sightings?minConfidence=${min}&limit=200`));
      if (!alive || mine !== generation) return;
      body.replaceChildren(
        ...answer.items.map((s) => {
          const row = el('tr');
          const value = el('a', s.value);
          value.href = `#/search?q=${encodeURIComponent(s.value)}`;
          const cell = el('td');
          cell.append(value);
          row.append(cell, el('td', s.type), el('td', String(s.confidence)), el('td', s.source), el('td', s.lastSeen), el('td', s.note));
          return row;
        }),
      );
      status.textContent = `${answer.items.length} sighting(s) with confidence ≥ ${min}`;
    } catch (err) {
      if (alive) status.textContent = `could not load sightings: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  minConfidence.addEventListener('change', load);
  // Reload after each collection cycle (needs `web.stream.types` to include the event).
  const closeStream = ctx.stream ? ctx.stream(['acme.sightings.updated'], () => void load()) : () => {};
  void load();
  return () => {
    alive = false;
    closeStream();
    minConfidence.removeEventListener('change', load);
    element.replaceChildren();
  };
}
