// A held-out evaluation's report: headline figures, each tool's precision and recall, accuracy
// per intent, and the confusion of expected against chosen tool as a heat map.
import type { ConfusionCell, Offline as OfflineData, Report as ReportData } from '../api/types';
import { count, fixed, interval, percent, precision } from '../lib/format';
import { Figure } from './ui';

export function Confusion({ cells }: { cells: ConfusionCell[] }) {
  if (!cells.length) return <p class="muted">No steps were scored.</p>;
  const order = (labels: Set<string>) => [...labels].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const rank = (label: string) => (label === 'finish' ? 1 : label === 'unavailable' ? 2 : 0);
  const rows = order(new Set(cells.map((c) => c.expected)));
  const columns = order(new Set([...cells.map((c) => c.chosen), ...rows]));
  const counts = new Map(cells.map((c) => [`${c.expected}\u0000${c.chosen}`, c.count]));
  const totals = new Map(rows.map((r) => [r, cells.filter((c) => c.expected === r).reduce((t, c) => t + c.count, 0)]));
  return (
    <div class="confusion-wrap">
      <table class="confusion" aria-label="confusion matrix">
        <thead>
          <tr>
            <th class="corner">expected ↓ chosen →</th>
            {columns.map((c) => (
              <th class="vertical" title={c}>
                <span>{c}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <th>{r}</th>
              {columns.map((c) => {
                const n = counts.get(`${r}\u0000${c}`) ?? 0;
                const share = n / (totals.get(r) || 1); // shaded by the share of its row
                const hue = r === c ? '142 70% 35%' : '0 75% 50%';
                return (
                  <td
                    title={`expected ${r}, chose ${c}: ${n}`}
                    style={
                      n
                        ? {
                            background: `hsl(${hue} / ${0.12 + 0.88 * share})`,
                            color: share > 0.5 ? '#fff' : undefined,
                          }
                        : undefined
                    }
                  >
                    {n || ''}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type CalibrationData = NonNullable<ReportData['calibration']>;

/** The reliability diagram: per equal-mass bin, how often the first choice was right against
 * how probable the model said it was; on the diagonal, probabilities mean what they say. */
function Reliability({ calibration }: { calibration: CalibrationData }) {
  const size = 160;
  const at = (v: number) => size - v * size;
  const [low, high] = calibration.ci95;
  return (
    <figure class="reliability" data-ece={calibration.ece}>
      <svg width={size} height={size} viewBox={`0 0 ${size} ${size}`} aria-label="reliability diagram">
        <rect x="0" y="0" width={size} height={size} fill="none" stroke="#d1d5db" />
        <line x1="0" y1={size} x2={size} y2="0" stroke="#9ca3af" stroke-dasharray="4 3" />
        {(calibration.bins ?? []).map((b) => (
          <circle cx={b.confidence * size} cy={at(b.accuracy)} r={3 + Math.min(4, b.count / 100)} fill="#2563eb">
            <title>
              {`${b.count} decisions: said ${percent(100 * b.confidence)}, right ${percent(100 * b.accuracy)}`}
            </title>
          </circle>
        ))}
      </svg>
      <figcaption>
        calibration error {fixed(calibration.ece, 3)} (95%: {fixed(low, 3)}–{fixed(high, 3)}) over{' '}
        {count(calibration.decisions)} held-out decisions; x: how sure, y: how often right
      </figcaption>
    </figure>
  );
}

/** The model's value on held-out logs, estimated off-policy, each with its interval. */
function Offline({ offline }: { offline: OfflineData }) {
  const rows: [string, OfflineData['dr']][] = [
    ['IPS', offline.ips],
    ['SNIPS', offline.snips],
    ['DR', offline.dr],
    ['DM (reward model)', offline.dm],
  ];
  return (
    <section class="offline">
      <h4>
        On {count(offline.n)} held-out logs (the logged agent's own average reward {fixed(offline.logged_value, 3)}
        {offline.ess != null && `; effective sample size ${fixed(offline.ess, 0)}`})
      </h4>
      {offline.reason && <p class="muted">{offline.reason}</p>}
      <dl class="figures">
        {rows
          .filter(([, e]) => e)
          .map(([label, e]) => (
            <Figure label={label}>
              {fixed(e!.value, 3)}{' '}
              <small title="95% interval">
                {fixed(e!.ci95[0], 3)}–{fixed(e!.ci95[1], 3)}
              </small>
            </Figure>
          ))}
      </dl>
    </section>
  );
}

export function Report({ report }: { report: ReportData }) {
  const tools = Object.entries(report.per_tool ?? {});
  const intents = Object.entries(report.per_intent ?? {});
  const recovery = report.recovery;
  return (
    <div class="report">
      <dl class="figures">
        {'episode' in report && <Figure label="after episode">{count(report.episode)}</Figure>}
        <Figure label="held-out accuracy" name="accuracy">
          {percent(report.heldout_accuracy)} <small title="95% interval">{interval(report.heldout_ci95)}</small>
        </Figure>
        <Figure label="average reward">{fixed(report.avg_reward, 3)}</Figure>
        {report.tasks !== undefined && <Figure label="tasks">{count(report.tasks)}</Figure>}
        {report.mean_calls !== undefined && <Figure label="calls per task">{fixed(report.mean_calls, 2)}</Figure>}
        {recovery && (
          <Figure label="recovered from failures">
            {recovery.recovered ?? 0} of {recovery.failures ?? 0} (
            {recovery.rate == null ? '-' : percent(recovery.rate)})
          </Figure>
        )}
      </dl>
      {report.calibration && <Reliability calibration={report.calibration} />}
      {'offline' in report && report.offline && <Offline offline={report.offline} />}
      <div class="report-tables">
        {tools.length > 0 && (
          <table class="per-tool">
            <thead>
              <tr>
                <th>tool</th>
                <th class="num">precision</th>
                <th class="num">recall</th>
              </tr>
            </thead>
            <tbody>
              {tools.map(([tool, score]) => (
                <tr>
                  <td>{tool}</td>
                  <td class="num" title={score.precision == null ? 'never called' : undefined}>
                    {precision(score.precision)}
                  </td>
                  <td class="num">{fixed(score.recall)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {intents.length > 0 && (
          <table class="per-intent">
            <thead>
              <tr>
                <th>intent</th>
                <th class="num">tasks</th>
                <th class="num">accuracy</th>
              </tr>
            </thead>
            <tbody>
              {intents.map(([intent, score]) => (
                <tr>
                  <td>{intent || <span class="muted">(no intent given)</span>}</td>
                  <td class="num">{score.tasks}</td>
                  <td class="num" title={`95%: ${interval(score.ci95)}`}>
                    {percent(score.accuracy)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {report.confusion && (
        <>
          <h3>Expected against chosen tool, per step</h3>
          <Confusion cells={report.confusion} />
        </>
      )}
    </div>
  );
}
