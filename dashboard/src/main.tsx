// The dashboard: a page per route, a navigation bar, and the key prompt.
import { render } from 'preact';
import { KeyPrompt } from './components/KeyPrompt';
import { useRoute } from './lib/router';
import { ComparePage } from './pages/compare';
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
