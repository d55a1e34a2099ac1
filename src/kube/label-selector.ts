/** A metav1.LabelSelector as the CRD allows it. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; readonly values?: readonly string[] }[];
}

/**
 * Kubernetes label-selector semantics (apimachinery's labels.Selector): every
 * requirement must hold; an empty selector matches everything.
 */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return byLabel && (selector.matchExpressions ?? []).every((requirement) => {
    const value = labels[requirement.key];
    switch (requirement.operator) {
      case "In": return value !== undefined && (requirement.values ?? []).includes(value);
      case "NotIn": return value === undefined || !(requirement.values ?? []).includes(value);
      case "Exists": return value !== undefined;
      case "DoesNotExist": return value === undefined;
    }
  });
}
