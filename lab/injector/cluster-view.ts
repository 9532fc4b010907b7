// What the injector needs to know about the cluster, behind a small interface
// so the webhook answers from memory: the lab uses the informer-backed view
// (kube-view.ts), tests use the in-memory one below.

import type { Labels } from './decide.js';

export interface IstiodDeployment {
  /** `istiod` or `istiod-<revision>` in istio-system. */
  name: string;
  revision: string;
  /** The image of its `discovery` container, `<hub>/pilot:<version>`. */
  image: string | undefined;
  readyReplicas: number;
}

export interface ClusterView {
  /** Labels of a namespace; undefined when the namespace is not (yet) known. */
  namespaceLabels(namespace: string): Labels | undefined;
  /** The istiod Deployment of a revision, if there is one. */
  istiod(revision: string): IstiodDeployment | undefined;
  /** Revision tags: tag -> revision. */
  tags(): Labels;
  /** Installed revisions: those with a revision injection webhook or an istiod Deployment. */
  revisions(): readonly string[];
  /** Whether the view has synced at least once (the webhook reports unhealthy before). */
  synced(): boolean;
}

/** A cluster view held in memory and changed by hand (tests, in-process use without an API server). */
export class InMemoryClusterView implements ClusterView {
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly istiods = new Map<string, IstiodDeployment>();
  private readonly tagMap = new Map<string, string>();
  private readonly extraRevisions = new Set<string>();

  setNamespace(name: string, labels: Record<string, string> = {}): this {
    this.namespaces.set(name, { ...labels });
    return this;
  }

  deleteNamespace(name: string): this {
    this.namespaces.delete(name);
    return this;
  }

  /** Adds or replaces the istiod Deployment of `revision` (named as Istio names it). */
  setIstiod(revision: string, image: string, readyReplicas = 1): this {
    this.istiods.set(revision, { name: revision === 'default' ? 'istiod' : `istiod-${revision}`, revision, image, readyReplicas });
    return this;
  }

  setIstiodReady(revision: string, readyReplicas: number): this {
    const current = this.istiods.get(revision);
    if (!current) throw new Error(`no istiod for revision ${revision}`);
    this.istiods.set(revision, { ...current, readyReplicas });
    return this;
  }

  deleteIstiod(revision: string): this {
    this.istiods.delete(revision);
    return this;
  }

  /** A revision whose webhook exists without an istiod Deployment (for example mid-uninstall). */
  addRevisionWebhook(revision: string): this {
    this.extraRevisions.add(revision);
    return this;
  }

  setTag(tag: string, revision: string): this {
    this.tagMap.set(tag, revision);
    return this;
  }

  deleteTag(tag: string): this {
    this.tagMap.delete(tag);
    return this;
  }

  namespaceLabels(namespace: string): Labels | undefined {
    return this.namespaces.get(namespace);
  }

  istiod(revision: string): IstiodDeployment | undefined {
    return this.istiods.get(revision);
  }

  tags(): Labels {
    return Object.fromEntries(this.tagMap);
  }

  revisions(): readonly string[] {
    return [...new Set([...this.istiods.keys(), ...this.extraRevisions])].sort();
  }

  synced(): boolean {
    return true;
  }
}
