// Asks for an API key when the API answers 401 (authentication on); never shown otherwise.
import { useEffect, useState } from 'preact/hooks';
import { onKeyWanted, setKey } from '../api/key';

export function KeyPrompt() {
  const [reason, setReason] = useState<string | null>(null);
  const [key, setValue] = useState('');
  useEffect(() => onKeyWanted(setReason), []);
  if (reason === null) return null;
  const submit = (event: Event) => {
    event.preventDefault();
    if (key.trim()) setKey(key);
    setValue('');
  };
  return (
    <div class="modal" role="dialog" aria-label="API key">
      <form class="card" onSubmit={submit}>
        <h2>API key</h2>
        <p>The API asks for a key: {reason}</p>
        <p class="muted">
          Create one with <code>agentgym keys create</code>. It is kept for this browser session only.
        </p>
        <input
          name="api-key"
          type="password"
          autoFocus
          placeholder="agk_..."
          value={key}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit">Use this key</button>
      </form>
    </div>
  );
}
