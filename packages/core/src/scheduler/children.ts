import { TipError, TipErrorCodes } from '../errors/TipError.js';
import { validateJob } from './jobValidation.js';
import { jsonPayload } from './payload.js';
import type { ChildSpec, GroupChild, JobDefinition } from './types.js';

/**
 * Looks up what a {@link ChildSpec} names: a registered job, or a registered source as a job.
 * @internal
 */
export interface ChildResolver {
  /** The registered job with that id. */
  job(id: string): JobDefinition | undefined;
  /** A job running the registered source with that id under `childId`. */
  source(id: string, childId: string): JobDefinition | undefined;
}

/** One child ready to run: its definition and its payload. @internal */
export interface ResolvedChild {
  /** The child's definition (id = the child's id in the group). */
  readonly def: JobDefinition;
  /** Its payload (JSON). */
  readonly payload: unknown;
  /** The spec it came from (unset for a closure child). */
  readonly spec?: ChildSpec;
}

/** Whether a child is data (a {@link ChildSpec}) rather than a job definition. @internal */
export function isChildSpec(c: GroupChild): c is ChildSpec {
  return c !== null && typeof c === 'object' && typeof (c as JobDefinition).run !== 'function' && typeof (c as JobDefinition).children !== 'function' && ('job' in c || 'source' in c);
}

/** A child spec's id within its group. @internal */
export function childIdOf(spec: ChildSpec, groupId: string): string {
  if (spec.id !== undefined) return spec.id;
  return 'job' in spec ? spec.job : `${groupId}/${spec.source}`;
}

/**
 * Checks what a group's `children()` returned and resolves it: each child a spec naming a
 * registered job or source (or, with `closures`, a job definition), ids unique within the group,
 * payloads JSON.
 * @param closures whether job-definition children are accepted (in-process only)
 * @throws TipError naming the group and the child
 * @internal
 */
export function resolveChildren(
  group: JobDefinition,
  children: readonly GroupChild[],
  groupPayload: unknown,
  resolver: ChildResolver,
  closures: boolean,
): ResolvedChild[] {
  if (!Array.isArray(children)) {
    throw new TipError(TipErrorCodes.TRIGGER_INVALID, `group "${group.id}": children() must return an array`, { details: { jobId: group.id } });
  }
  const seen = new Set<string>();
  const out: ResolvedChild[] = [];
  for (const child of children) {
    let resolved: ResolvedChild;
    if (isChildSpec(child)) {
      const id = childIdOf(child, group.id);
      const def = resolveSpec(child, id, resolver);
      if (!def) {
        const what = 'job' in child ? `job "${child.job}"` : `source "${child.source}"`;
        throw new TipError(TipErrorCodes.JOB_UNKNOWN, `group "${group.id}": child "${id}" names ${what}, which is not registered`, {
          details: { jobId: group.id, childId: id, ...('job' in child ? { job: child.job } : { source: child.source }) },
        });
      }
      const payload = child.payload === undefined ? groupPayload : jsonPayload(child.payload, `group "${group.id}" child "${id}" payload`);
      resolved = { def, payload, spec: child };
    } else {
      if (!closures) {
        throw new TipError(
          TipErrorCodes.TRIGGER_INVALID,
          `group "${group.id}": child "${(child as JobDefinition)?.id}" is a job definition built at run time; this scheduler backend runs children on other workers, so children must be data: { job: '<registered job id>', payload } or { source: '<source id>' }`,
          { details: { jobId: group.id, childId: (child as JobDefinition)?.id } },
        );
      }
      validateJob(child as JobDefinition);
      resolved = { def: child as JobDefinition, payload: groupPayload };
    }
    if (seen.has(resolved.def.id)) {
      throw new TipError(TipErrorCodes.DUPLICATE_ID, `group "${group.id}" has two children with id "${resolved.def.id}"`, {
        details: { jobId: group.id, childId: resolved.def.id },
      });
    }
    seen.add(resolved.def.id);
    out.push(resolved);
  }
  return out;
}

/**
 * The job a child spec (or a stored copy of one) names, run under the child's id: a registered
 * job without its own triggers, or a registered source as a job; `undefined` when neither is
 * registered.
 * @internal
 */
export function resolveSpec(spec: { job?: string; source?: string }, childId: string, resolver: ChildResolver): JobDefinition | undefined {
  if (spec.job !== undefined) {
    const def = resolver.job(spec.job);
    if (!def) return undefined;
    const { trigger: _trigger, ...rest } = def;
    return { ...rest, id: childId };
  }
  return spec.source === undefined ? undefined : resolver.source(spec.source, childId);
}
