// How often a loop's shadow candidate would have served another tool first than the model
// served did, and on what (agentgym/decisions.py's `shadow`): a choice not served has no
// outcome, so this informs; a prospective loop's test estimates, on the share of the gateways'
// exploring that serves the shadow's choice (gateway/ranking.py).
import { decisions } from '../api/endpoints';
import type { Decision, DecisionItem } from '../api/types';
import { ErrorBox, useLoad } from './ui';

const READ = 20_000;
const PAIRS = 8;

export interface Disagreement {
  shadows: string[]; // the shadow models seen
  scored: number; // decisions a shadow scored
  disagreed: number; // ... where it would have put another tool first
  pairs: { served: string; shadow: string; count: number }[]; // the most frequent, first
}

export function disagreement(items: DecisionItem[]): Disagreement {
  const scored = items.filter((i): i is Decision => i.kind === 'decision' && !!i.shadow && i.shadow.served.length > 0);
  const counts = new Map<string, { served: string; shadow: string; count: number }>();
  let disagreed = 0;
  for (const d of scored) {
    const served = d.served[0] ?? '-';
    const shadow = d.shadow!.served[0];
    if (served === shadow) continue;
    disagreed += 1;
    const key = `${served}\u0000${shadow}`;
    const found = counts.get(key) ?? { served, shadow, count: 0 };
    found.count += 1;
    counts.set(key, found);
  }
  const pairs = [...counts.values()].sort((a, b) => b.count - a.count).slice(0, PAIRS);
  const shadows = [...new Set(scored.map((d) => d.shadow!.model_id))];
  return { shadows, scored: scored.length, disagreed, pairs };
}

export function ShadowAgreement({
  scenario,
  nameOf,
  changed,
}: {
  scenario: string;
  nameOf: (id: string) => string;
  changed: unknown;
}) {
  const found = useLoad(() => decisions.list(scenario, READ), [scenario, changed]);
  const shown = found.value ? disagreement(found.value) : null;
  return (
    <div class="shadow-agreement">
      <ErrorBox error={found.error} />
      {shown && !shown.scored && (
        <p class="muted">No decision scored by a shadow yet: set the loop's shadow, and a run trains one.</p>
      )}
      {shown && shown.scored > 0 && (
        <>
          <p data-disagreed={shown.disagreed} data-scored={shown.scored}>
            {shown.shadows.map(nameOf).join(', ')} would have served another tool first in{' '}
            <strong>
              {shown.disagreed} of {shown.scored}
            </strong>{' '}
            decisions ({((100 * shown.disagreed) / shown.scored).toFixed(1)}%).
          </p>
          {shown.pairs.length > 0 && (
            <table class="shadow-pairs">
              <thead>
                <tr>
                  <th>served first</th>
                  <th>shadow first</th>
                  <th class="num">decisions</th>
                </tr>
              </thead>
              <tbody>
                {shown.pairs.map((p) => (
                  <tr key={`${p.served}-${p.shadow}`}>
                    <td>{p.served}</td>
                    <td>{p.shadow}</td>
                    <td class="num">{p.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p class="muted">
            Choices not served have no outcome: the shadow informs. A prospective loop's gate tests it on the share of
            exploring that serves its choice.
          </p>
        </>
      )}
    </div>
  );
}
