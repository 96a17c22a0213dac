// What the promotion and approval gates read, gathered from the caches: the
// source Environment's Releases (promotion.from, soak), the namespaces' tenant
// labels, and the approvals the cluster admitted on the Release itself.
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../api/annotations.js';
import { requiredApprovals } from '../api/defaults.js';
import type { Environment, Release } from '../api/generated/index.js';
import { approvalKey, approversOf, authorOf } from '../environment/approvals.js';
import type { ApprovalFacts, PromotionFacts } from '../environment/gates.js';
import type { Informer } from '../runtime/informer.js';
import { parseDuration } from '../runtime/duration.js';
import { revisionOf } from './names.js';

/** Namespaces of one tenant carry the same value; promotion across namespaces needs it on both. */
export const TENANT_LABEL = 'cutover.dev/tenant';

type Cached<T> = Pick<Informer<T & KubernetesObject>, 'get' | 'list'>;

export interface PromotionSources {
  releases: Cached<Release>;
  environments: Pick<Informer<Environment>, 'get'>;
  namespaces: Pick<Informer<V1Namespace & KubernetesObject>, 'get'>;
  /** Whether the operator watches a namespace (--namespaces, --namespace-selector); all of them when unset. */
  watches?: (namespace: string) => boolean;
}

/** What promotion.from found, or undefined when the Environment promotes from nowhere. */
export function promotionFacts(
  src: PromotionSources,
  rel: Release,
  env: Environment,
): PromotionFacts | undefined {
  const promotion = env.spec.promotion;
  const from = promotion?.from;
  if (!from) return undefined;
  const ns = rel.metadata?.namespace ?? '';
  const source = { namespace: from.namespace ?? ns, name: from.name };
  const { version, application: app, template } = rel.spec;
  const byRevision = (promotion.match ?? 'Revision') === 'Revision';
  const facts: PromotionFacts = {
    source,
    wanted: byRevision ? `version ${version} with this pod template` : `version ${version}`,
    soakMs: promotion.soak ? parseDuration(promotion.soak) : 0,
  };
  if (source.namespace !== ns && src.watches?.(source.namespace) === false) {
    // Not "not found": the caches never hold it, whatever is there.
    const message = `promotion.from names namespace "${source.namespace}", which this operator does not watch: run it with both namespaces in its --namespaces or --namespace-selector`;
    return { ...facts, problem: { reason: 'PromotionSourceNotWatched', message } };
  }
  if (source.namespace !== ns) {
    const problem = tenantProblem(src, ns, source.namespace);
    if (problem) return { ...facts, problem: { reason: 'CrossTenantPromotion', message: problem } };
  }
  if (!src.environments.get(source.name, source.namespace)) {
    const message = `Environment "${source.name}" (promotion.from) not found in namespace "${source.namespace}"`;
    return { ...facts, problem: { reason: 'PromotionSourceNotFound', message } };
  }
  const wanted = revisionOf(app, version, template);
  const candidates = src.releases
    .list(source.namespace)
    .filter((r) => r.spec.environmentRef.name === source.name && r.spec.application === app);
  for (const r of candidates) {
    const st = r.status ?? {};
    // Serving its current spec: a Release mid-rollout there has not proved
    // anything yet, nor one whose spec moved on before its status caught up.
    const serving =
      st.phase === 'Succeeded' &&
      st.stableRevision === st.revision &&
      st.observedGeneration === r.metadata?.generation;
    const same =
      r.spec.version === version &&
      (!byRevision || revisionOf(app, r.spec.version, r.spec.template) === wanted);
    if (serving && same) return { ...facts, succeededAt: succeededAt(r) };
  }
  const there = candidates.map((r) => r.status?.stableVersion).find((v) => v !== undefined);
  return there ? { ...facts, runningThere: there } : facts;
}

/** When the version it serves Succeeded: the newest Succeeded record of it, else when the phase began. */
function succeededAt(r: Release): Date {
  const st = r.status ?? {};
  const record = st.history?.find((h) => h.outcome === 'Succeeded' && h.version === r.spec.version);
  const at = record?.finishedAt ?? st.phaseStartedAt ?? r.metadata?.creationTimestamp;
  return new Date(at ?? 0);
}

function tenantProblem(src: PromotionSources, ns: string, sourceNs: string): string | undefined {
  const tenant = (name: string) => src.namespaces.get(name)?.metadata?.labels?.[TENANT_LABEL];
  const mine = tenant(ns);
  const theirs = tenant(sourceNs);
  if (mine !== undefined && mine === theirs) return undefined;
  const said = (name: string, t: string | undefined) =>
    t === undefined ? `namespace ${name} has no ${TENANT_LABEL} label` : `namespace ${name} is tenant "${t}"`;
  return `promotion.from crosses namespaces, which needs the same ${TENANT_LABEL} label on both: ${said(ns, mine)}, ${said(sourceNs, theirs)}`;
}

/** The approvals the gate counts, or undefined when the Environment requires none. */
export function approvalFacts(rel: Release, env: Environment, revision: string): ApprovalFacts | undefined {
  const required = requiredApprovals(env);
  if (required === 0) return undefined;
  const annotations = rel.metadata?.annotations ?? {};
  return {
    required,
    approvers: approversOf(annotations[ANNOTATIONS.approvedBy], approvalKey(revision, rel.spec)),
    author: authorOf(annotations[ANNOTATIONS.changedBy]),
    forbidSelfApproval: env.spec.promotion?.forbidSelfApproval ?? false,
  };
}
