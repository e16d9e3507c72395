import { extensionPoint } from '../plugins/ExtensionPoint.js';
import type { PublicEventDefinition } from '../events/public.js';
import type { CommandDefinition } from '../plugins/commands.js';
import type { PageDefinition, RouteDefinition } from '../routes/types.js';
import type { JobDefinition } from '../scheduler/types.js';
import type { ServiceDefinition } from '../services/types.js';
import type { SourceDefinition, SourceKind } from '../sources/types.js';

/** Core's built-in extension points (plugins reach them as `ctx.sources`, `ctx.jobs`, …). */
export const CorePoints = {
  /** Sources, keyed by id. */
  sources: extensionPoint<SourceDefinition>('tip.sources', { keyOf: (s) => s.id }),
  /** Source kinds (ingesters), keyed by kind. */
  sourceKinds: extensionPoint<SourceKind>('tip.sourceKinds', { keyOf: (k) => k.kind }),
  /** Jobs, keyed by id. */
  jobs: extensionPoint<JobDefinition>('tip.jobs', { keyOf: (j) => j.id }),
  /** `tip` subcommands, keyed by name. */
  commands: extensionPoint<CommandDefinition>('tip.commands', { keyOf: (c) => c.name }),
  /** Long-running services, keyed by id. */
  services: extensionPoint<ServiceDefinition>('tip.services', { keyOf: (s) => s.id }),
  /** HTTP API routes. */
  routes: extensionPoint<RouteDefinition>('tip.routes'),
  /** Browser UI pages, keyed by id. */
  pages: extensionPoint<PageDefinition>('tip.pages', { keyOf: (p) => p.id }),
  /** Events published for consumers outside the process (stream, webhooks), keyed by name. */
  publicEvents: extensionPoint<PublicEventDefinition>('tip.publicEvents', { keyOf: (e) => e.name }),
} as const;
