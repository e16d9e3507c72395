// Deterministic "moving" threat feeds for the TIP demo. Nothing here is real threat data: every
// value is generated from a seed. The feeds change per time slot (e.g. every 20 s):
//
// - an indicator k is born in slot floor(k / RATE) − WARMUP and lives 3–40 slots (mostly short),
//   so listings appear, stay a while and disappear, and slot 0 already has a full list;
// - which feeds list it is decided by the same seeded draw, so feeds overlap on purpose: the
//   aggregator is a near-copy (one slot late) of three others, the community feed shares ~40% of
//   the scanner IPs and adds noise that hits TIP's allow-lists (documentation and private
//   addresses, popular domains), so false-positive rates and weights differ between feeds;
// - one feed is slow and one answers 503 in some slots (see feed-server.ts);
// - one source title and one feed entry carry an XSS payload, to show that the UI renders
//   attacker-controlled text inertly;
// - a feed in the "ACME sightings" format of the example plugin examples/custom-source (its UI
//   page is the demo's example of a plugin page) reports some of the same values, with a
//   confidence that drifts per slot and a note, one of which carries an HTML payload.
//
// Same seed and slot, same bytes: tests and bug reports can reproduce any slot.

/** Indicator types the generator produces. */
export type DemoIndicatorType = 'ip' | 'cidr' | 'domain' | 'url';

/** A generated indicator with its life span (in slots). */
export interface DemoIndicator {
  /** Index in the generator's infinite sequence. */
  k: number;
  /** Indicator type. */
  type: DemoIndicatorType;
  /** The value as feeds print it. */
  value: string;
  /** First slot it is listed in. */
  birth: number;
  /** Number of slots it stays listed. */
  lifetime: number;
  /** Ids of the primary feeds that list it (the aggregator follows them). */
  feeds: string[];
}

/** One demo feed as the feed server serves it and the blacklist plugin collects it. */
export interface DemoFeed {
  /** Feed (source) id. */
  id: string;
  /** Source title (one carries an XSS payload on purpose). */
  title: string;
  /** Blacklist parser format. */
  format: 'plain' | 'hosts' | 'csv' | 'drop';
  /** Parser options (csv). */
  options?: Record<string, unknown>;
  /** Blacklist category. */
  category: 'scanner' | 'malware' | 'phishing' | 'reputation' | 'abuse';
  /** File name under `/gen/` on the feed server. */
  file: string;
  /** The server delays its answer by this many milliseconds. */
  delayMs?: number;
  /** The server answers 503 in slots where this returns true. */
  failsIn?: (slot: number, seed: number) => boolean;
}

/** New indicators per slot. */
export const RATE = 12;
/** Slots of history already "alive" at slot 0. */
export const WARMUP = 40;
/** Longest life of an indicator, in slots. */
export const MAX_LIFETIME = 40;

/** Title of the noisy community feed: it carries a `<script>` payload that must render as text. */
export const XSS_TITLE = 'Community reports <script>alert("title")</script>';
/** A feed entry carrying an HTML payload (a valid URL; TIP percent-encodes it when it canonicalises). */
export const XSS_ENTRY = "http://cdn-update-check.top/'\"><img src=x onerror=alert(1)>";

/** The demo feeds. */
export const DEMO_FEEDS: readonly DemoFeed[] = [
  { id: 'demo-scanners', title: 'Honeypot scanners (SSH/RDP brute force)', format: 'plain', category: 'scanner', file: 'scanners.txt' },
  { id: 'demo-netblocks', title: 'Hijacked netblocks (DROP-style)', format: 'drop', category: 'malware', file: 'netblocks.txt' },
  { id: 'demo-malware-domains', title: 'Malware domains (hosts file)', format: 'hosts', category: 'malware', file: 'malware-hosts.txt' },
  {
    id: 'demo-phishing',
    title: 'Phishing URLs (CSV, slow server)',
    format: 'csv',
    options: { column: 'url' },
    category: 'phishing',
    file: 'phishing.csv',
    delayMs: 1500,
  },
  { id: 'demo-aggregator', title: 'ThreatAgg mirror (near-copy aggregator)', format: 'plain', category: 'reputation', file: 'aggregated.txt' },
  { id: 'demo-community', title: XSS_TITLE, format: 'plain', category: 'abuse', file: 'community.txt', failsIn: (slot, seed) => slot > 0 && hash(seed, 0x503, slot) % 4 === 0 },
];

/** The generated feed of the example plugin `@acme/tip-plugin-sightings` (its `acme.feeds` entry). */
export interface DemoSightingsFeed {
  /** Feed id in `acme.feeds` (the plugin's source is `acme-<id>`). */
  id: string;
  /** Source title. */
  title: string;
  /** File name under `/gen/` on the feed server. */
  file: string;
}

/** The demo's sightings feed, in the format of `examples/custom-source/src/format.ts`. */
export const DEMO_SIGHTINGS_FEED: DemoSightingsFeed = { id: 'demo', title: 'ACME sightings (generated)', file: 'sightings.txt' };

/** A sightings note carrying an HTML payload: the plugin's page must show it as text. */
export const XSS_NOTE = '<img src=x onerror=alert("note")> beacon to <b>c2</b>';

/** The slot of time `ms` for slots of `slotMs` starting at `startMs`. */
export function slotAt(ms: number, startMs: number, slotMs: number): number {
  return Math.max(0, Math.floor((ms - startMs) / slotMs));
}

/** Every indicator listed by some feed in `slot` (aggregator lag not applied). */
export function liveIndicators(slot: number, seed: number): DemoIndicator[] {
  const out: DemoIndicator[] = [];
  const from = Math.max(0, (slot - MAX_LIFETIME + WARMUP + 1) * RATE);
  const to = (slot + WARMUP + 1) * RATE;
  for (let k = from; k < to; k++) {
    const ind = indicator(k, seed);
    if (ind.birth <= slot && slot < ind.birth + ind.lifetime) out.push(ind);
  }
  return out;
}

/**
 * Where the feeds' own timestamps (CSV `first_seen`, sightings' `seen`) put slot 0 and how long a
 * slot lasts. The default is a fixed date (reproducible bodies); the feed server passes its start
 * time, so a running demo's timestamps are current.
 */
export interface SlotTime {
  /** Epoch ms of slot 0 (default 2026-01-01T00:00:00Z). */
  epochMs: number;
  /** Slot length in ms (default 20 s). */
  slotMs: number;
}

const FIXED_TIME: SlotTime = { epochMs: Date.UTC(2026, 0, 1), slotMs: 20_000 };

/** The body of feed `id` in `slot` (throws for an unknown id). */
export function feedBody(id: string, slot: number, seed: number, time: SlotTime = FIXED_TIME): string {
  const feed = DEMO_FEEDS.find((f) => f.id === id);
  if (!feed) throw new Error(`demo generator: unknown feed "${id}"`);
  const listed = (s: number, feedId: string) => liveIndicators(s, seed).filter((i) => i.feeds.includes(feedId));
  const stamp = `# generated demo data (seed ${seed}, slot ${slot}); not real threat intelligence\n`;
  switch (id) {
    case 'demo-scanners':
      return `# Honeypot scanners\n${stamp}${listed(slot, id).map((i) => `${i.value}\n`).join('')}`;
    case 'demo-netblocks':
      return `; Hijacked netblocks, DROP-style\n;${stamp.slice(1)}${listed(slot, id).map((i) => `${i.value} ; SBL${100000 + (i.k % 900000)}\n`).join('')}`;
    case 'demo-malware-domains':
      return `# malware hosts\n${stamp}127.0.0.1 localhost\n${listed(slot, id).map((i) => `0.0.0.0 ${i.value}\n`).join('')}`;
    case 'demo-phishing': {
      const rows = listed(slot, id).map((i) => `${isoAtSlot(i.birth, time)},"${i.value}",${TARGETS[i.k % TARGETS.length]},online`);
      return `${stamp}first_seen,url,target,status\n${rows.map((r) => `${r}\n`).join('')}`;
    }
    case 'demo-aggregator': {
      // republishes the three primary feeds one slot late, dropping ~8% of entries
      const prev = liveIndicators(Math.max(0, slot - 1), seed).filter(
        (i) => i.feeds.some((f) => f === 'demo-scanners' || f === 'demo-malware-domains' || f === 'demo-phishing') && hash(seed, 0xa66, i.k) % 100 >= 8,
      );
      return `# ThreatAgg combined list\n${stamp}${prev.map((i) => `${i.value}\n`).join('')}`;
    }
    case 'demo-community': {
      const lines = listed(slot, id).map((i) => i.value);
      // noise: two or three values of the allow-list pool per slot, and the XSS entry in some slots
      const n = 2 + (hash(seed, 0x401, slot) % 2);
      for (let j = 0; j < n; j++) lines.push(NOISE[hash(seed, 0x402 + j, slot) % NOISE.length]!);
      if (slot % 3 !== 2) lines.push(XSS_ENTRY);
      return `# community submissions, unreviewed\n${stamp}${[...new Set(lines)].map((l) => `${l}\n`).join('')}`;
    }
    default:
      throw new Error(`demo generator: no body for feed "${id}"`);
  }
}

/**
 * The body of {@link DEMO_SIGHTINGS_FEED} in `slot`: about one in six of the live IPs, domains and
 * URLs (so the page's links find them in TIP's search too), each seen "now" (the slot's
 * timestamp) with a confidence that drifts by a few points per slot and a note by type, plus the
 * community feed's XSS URL with {@link XSS_NOTE}. Format (see the plugin's `format.ts`):
 * `seen|type|value|confidence|note`, one per line.
 */
export function sightingsBody(slot: number, seed: number, time: SlotTime = FIXED_TIME): string {
  const seen = isoAtSlot(slot, time);
  const lines = liveIndicators(slot, seed)
    .filter((i): i is DemoIndicator & { type: keyof typeof SIGHTING_NOTES } => i.type !== 'cidr' && hash(seed, 0x5c0, i.k) % 6 === 0)
    .map((i) => {
      // a stable base per indicator, moved by −5…+5 each slot
      const base = 20 + (hash(seed, 0x5c1, i.k) % 81);
      const confidence = Math.max(0, Math.min(100, base + (hash(seed, 0x5c2, i.k, slot) % 11) - 5));
      const notes = SIGHTING_NOTES[i.type];
      return `${seen}|${i.type}|${i.value}|${confidence}|${notes[hash(seed, 0x5c3, i.k) % notes.length]}`;
    });
  lines.push(`${seen}|url|${XSS_ENTRY}|${60 + (hash(seed, 0x5c4, slot) % 30)}|${XSS_NOTE}`);
  return `# acme-sightings v1\n# generated demo data (seed ${seed}, slot ${slot}); not real threat intelligence\n${lines.map((l) => `${l}\n`).join('')}`;
}

// ---- values ---------------------------------------------------------------------------------------

// Publicly routable first octets (no private, documentation, CGNAT, multicast or reserved space).
const FIRST_OCTETS = [5, 23, 31, 37, 45, 46, 62, 77, 78, 79, 80, 85, 87, 89, 91, 92, 94, 103, 109, 141, 154, 176, 178, 179, 181, 185, 186, 188, 190, 193, 194, 195, 212, 213, 217, 218, 222];
const V6_PREFIXES = ['2a0e:1c80', '2a03:b0c0', '2001:41d0', '2a01:4f8', '2604:a880', '2a06:4880'];
const WORDS = ['secure', 'login', 'verify', 'account', 'update', 'cdn', 'cloud', 'wallet', 'billing', 'support', 'auth', 'portal', 'track', 'parcel', 'invoice', 'micro', 'soft', 'office', 'docs', 'mail', 'bank', 'pay', 'crypto', 'sync', 'drive', 'helpdesk', 'service', 'center', 'online', 'web', 'id', 'check', 'signin', 'delivery', 'tax', 'refund'];
const TLDS = ['com', 'net', 'org', 'info', 'top', 'xyz', 'online', 'site', 'shop', 'icu', 'ru', 'cn', 'biz', 'live', 'click', 'link', 'store', 'cyou', 'pw', 'cc'];
const URL_PATHS = ['/login.php', '/wp-admin/includes/update.php', '/secure/verify', '/account/session/restore', '/bins/mips', '/x86_64', '/invoice.zip', '/payload.exe', '/signin/v2/identifier', '/.well-known/pki-validation/upd.js', '/dhl/track.html', '/o365/auth.aspx'];
const TARGETS = ['Generic', 'Office365', 'PayPal', 'DHL', 'Netflix', 'Bank', 'Crypto exchange', 'Tax office'];
// Notes of the sightings feed, by value type (free text the plugin stores and shows as is).
const SIGHTING_NOTES = {
  ip: ['ssh brute force', 'rdp password spraying', 'port scan tcp/445', 'telnet botnet login', 'smtp auth abuse'],
  domain: ['phishing kit', 'malware c2', 'typosquat of a bank', 'newly registered, seen in spam'],
  url: ['credential phishing page', 'malware download', 'fake invoice lure'],
} as const;
// Values TIP's allow-lists know (RFC 5737/1918 space, popular domains): false positives by design.
const NOISE = [
  '192.0.2.44',
  '198.51.100.7',
  '203.0.113.200',
  '10.20.30.40',
  '192.168.1.1',
  'github.com',
  'login.microsoftonline.com',
  'www.google.com',
  'https://docs.google.com/forms/d/e/demo/viewform',
  'cdn.cloudflare.com',
];

/** Indicator k of the infinite sequence. */
export function indicator(k: number, seed: number): DemoIndicator {
  const r = rng(hash(seed, 0x1d, k));
  const birth = Math.floor(k / RATE) - WARMUP;
  const life = r();
  const lifetime = 3 + Math.floor(life * life * (MAX_LIFETIME - 3)); // skewed towards short lives
  const t = r();
  const type: DemoIndicatorType = t < 0.36 ? 'ip' : t < 0.44 ? 'cidr' : t < 0.72 ? 'domain' : 'url';
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const octet = () => Math.floor(r() * 254) + 1;
  let value: string;
  if (type === 'ip') {
    value = r() < 0.08 ? `${pick(V6_PREFIXES)}:${(octet() * 97).toString(16)}::${octet().toString(16)}` : `${pick(FIRST_OCTETS)}.${octet()}.${octet()}.${octet()}`;
  } else if (type === 'cidr') {
    const bits = pick([22, 23, 24, 24, 24]);
    const third = octet() & (0xff << (24 - bits)) & 0xff;
    value = `${pick(FIRST_OCTETS)}.${octet()}.${third}.0/${bits}`;
  } else {
    const words = `${pick(WORDS)}-${pick(WORDS)}${r() < 0.5 ? Math.floor(r() * 99) : ''}`;
    const domain = `${r() < 0.3 ? `${pick(WORDS)}.` : ''}${words}.${pick(TLDS)}`;
    value = type === 'domain' ? domain : `${r() < 0.6 ? 'https' : 'http'}://${domain}${pick(URL_PATHS)}`;
  }
  const feeds: string[] = [];
  const p = r(); // one draw per decision keeps the sequence stable
  const q = r();
  if (type === 'ip') {
    if (p < 0.85) feeds.push('demo-scanners');
    if (q < 0.42) feeds.push('demo-community');
  } else if (type === 'cidr') {
    feeds.push('demo-netblocks');
  } else if (type === 'domain') {
    if (p < 0.85) feeds.push('demo-malware-domains');
    if (q < 0.3) feeds.push('demo-community');
  } else {
    if (p < 0.9) feeds.push('demo-phishing');
    if (q < 0.35) feeds.push('demo-community');
  }
  return { k, type, value, birth, lifetime, feeds };
}

/** The timestamp of a slot's start (the CSV's first_seen, the sightings' seen), to the second. */
function isoAtSlot(slot: number, time: SlotTime): string {
  return new Date(time.epochMs + slot * time.slotMs).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A 32-bit hash of integers (FNV-1a over their bytes, then a finaliser). */
export function hash(...ns: number[]): number {
  let h = 0x811c9dc5;
  for (const n of ns) {
    let v = n | 0;
    for (let i = 0; i < 4; i++, v >>>= 8) h = Math.imul(h ^ (v & 0xff), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % 0x7fffffff;
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
