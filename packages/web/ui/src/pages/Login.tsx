import { useState } from 'preact/hooks';
import { post } from '../api';

/** The sign-in form (POST /api/session). */
export function Login({ onLogin }: { onLogin: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await post('session', { username, password });
      setPassword('');
      onLogin();
    } catch (err) {
      const status = (err as { status?: number }).status;
      setError(status === 401 ? 'Wrong user name or password.' : status === 429 ? 'Too many attempts; wait a minute.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-wrap">
      <form class="login card" onSubmit={(e) => void submit(e)}>
        <h1>TIP</h1>
        <p class="muted">Sign in to continue.</p>
        <label>
          User name
          <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername((e.currentTarget as HTMLInputElement).value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} required />
        </label>
        {error ? (
          <div class="error" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" class="btn-primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </div>
  );
}
