// The Istio install values that point a revision's injection and validation
// webhooks at this injector (see README.md for the chart files behind them).
//
// Give them to istioctl as a file (`istioctl install -f overlay.yaml ...`), not
// as `--set`: istioctl splits `--set path=value` on every `=`
// (operator/pkg/values/map.go getPV), so a base64 caBundle ending in `=`
// padding makes the whole flag a bogus path ("unknown field
// validationCABundle=LS0t...").

import { stringify } from 'yaml';

export interface InjectorEndpoint {
  /** https://127.0.0.1:<port> */
  url: string;
  /** base64 of the CA PEM. */
  caBundle: string;
}

export function injectURLFor(url: string, revision: string): string {
  return `${url}/inject/rev/${revision}`;
}

/** `spec.values` for `istioctl install --revision <revision>`. */
export function istioWebhookValues(endpoint: InjectorEndpoint, revision: string) {
  return {
    istiodRemote: {
      injectionURL: injectURLFor(endpoint.url, revision),
      injectionCABundle: endpoint.caBundle,
    },
    base: {
      validationURL: `${endpoint.url}/validate`,
      validationCABundle: endpoint.caBundle,
    },
  };
}

/**
 * An IstioOperator overlay carrying those values, for `istioctl install -f`.
 * `tag` installs another Istio version's images with the same istioctl (the
 * lab's old mesh version); without it istioctl installs its own version.
 */
export function istioOperatorOverlay(endpoint: InjectorEndpoint, revision: string, tag?: string): string {
  return stringify({
    apiVersion: 'install.istio.io/v1alpha1',
    kind: 'IstioOperator',
    spec: { revision, ...(tag ? { tag } : {}), values: istioWebhookValues(endpoint, revision) },
  });
}
