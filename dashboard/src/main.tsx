// The dashboard: a page per route, a navigation bar, and the key prompt.
import { render } from 'preact';
import { KeyPrompt } from './components/KeyPrompt';
import { useRoute } from './lib/router';
import { ComparePage } from './pages/compare';
import { DecisionsPage } from './pages/decisions';
import { LoopPage } from './pages/loop';
import { ModelsPage } from './pages/models';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { ScenariosPage } from './pages/scenarios';
import './style.css';

const PAGES = [
  ['runs', 'Runs'],
  ['compare', 'Compare'],
  ['models', 'Models'],
  ['scenarios', 'Scenarios'],
  ['decisions', 'Decisions'],
] as const;

function Page() {
  const route = useRoute();
  switch (route.page) {
    case 'runs':
      return route.id ? <RunPage key={route.id} id={route.id} /> : <RunsPage />;
    case 'compare':
      return <ComparePage ids={(route.params.get('ids') ?? '').split(',').filter(Boolean)} />;
    case 'models':
      return <ModelsPage />;
    case 'scenarios':
      return <ScenariosPage />;
    case 'loop':
      return route.id ? (
        <LoopPage key={route.id} scenario={route.id} />
      ) : (
        <p class="muted">A loop is a custom scenario's: open one from the Scenarios page.</p>
      );
    case 'decisions':
      return (
        <DecisionsPage
          scenario={route.params.get('scenario') ?? undefined}
          opened={route.params.get('decision') ?? undefined}
        />
      );
    default:
      return <p class="error">No page {route.page}: see the links above.</p>;
  }
}

function App() {
  const route = useRoute();
  return (
    <>
      <nav>
        <strong>AgentGym</strong>
        {PAGES.map(([page, label]) => (
          <a href={`#/${page}`} class={route.page === page ? 'active' : ''}>
            {label}
          </a>
        ))}
        <a class="docs" href="/docs">
          API docs
        </a>
      </nav>
      <main>
        <Page />
      </main>
      <KeyPrompt />
    </>
  );
}

render(<App />, document.getElementById('app')!);
